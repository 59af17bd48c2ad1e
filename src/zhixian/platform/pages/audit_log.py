"""Audit administrator's page: search the audit log and verify its hash chain."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from zhixian.clock import LOCAL_TZ
from zhixian.platform import audit
from zhixian.platform.deps import AuditReader
from zhixian.platform.models import User
from zhixian.web.deps import SessionDep
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)


def _day(value: str) -> datetime | None:
    """Midnight Beijing time of a typed YYYY-MM-DD; a malformed date is ignored, not an error."""
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), LOCAL_TZ) if value else None
    except ValueError:
        return None


def _action_groups(request: Request) -> list[tuple[str, list[tuple[str, str]]]]:
    """The action filter's choices, grouped by the subsystem that writes them, each by its name."""
    registry = request.app.state.registry
    book = request.app.state.templates.env.globals["labels"].book
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, name in book.audit_actions.items():
        groups.setdefault(book.owner(code), []).append((code, name))
    return [
        (registry.available[sub].name if sub in registry.available else sub, items) for sub, items in groups.items()
    ]


@router.get("/admin/audit")
def audit_page(
    request: Request,
    actor: AuditReader,
    session: SessionDep,
    username: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    result: Annotated[str, Query(max_length=16)] = "",
    object_type: Annotated[str, Query(max_length=64)] = "",
    start: Annotated[str, Query(max_length=10)] = "",
    end: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    verify: bool = False,
) -> HTMLResponse:
    end_at = _day(end)
    flt = audit.AuditFilter(
        username=username,
        action=action,
        result=result,
        object_type=object_type,
        start=_day(start),
        end=end_at + timedelta(days=1) if end_at else None,
    )
    size = 50
    rows, total = audit.search(session, flt=flt, offset=(page - 1) * size, limit=size)
    check = audit.verify(session) if verify else None
    names = {r.username for r in rows if r.username}
    people = dict(session.execute(select(User.username, User.full_name).where(User.username.in_(names))).all())
    return render(
        request,
        "platform/audit.html",
        actor,
        rows=rows,
        total=total,
        page=page,
        size=size,
        f={
            "username": username,
            "action": action,
            "result": result,
            "object_type": object_type,
            "start": start,
            "end": end,
        },
        action_groups=_action_groups(request),
        people=people,
        check=check,
        query=request.url.query,
    )
