"""Audit administrator's page: search the audit log and verify its hash chain."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from zhixian.clock import LOCAL_TZ
from zhixian.platform import audit
from zhixian.platform.deps import AuditReader
from zhixian.web.deps import SessionDep
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)


def _day(value: str) -> datetime | None:
    """Midnight Beijing time of a typed YYYY-MM-DD; a malformed date is ignored, not an error."""
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), LOCAL_TZ) if value else None
    except ValueError:
        return None


@router.get("/admin/audit")
def audit_page(
    request: Request,
    actor: AuditReader,
    session: SessionDep,
    username: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    result: Annotated[str, Query(max_length=16)] = "",
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
        start=_day(start),
        end=end_at + timedelta(days=1) if end_at else None,
    )
    size = 50
    rows, total = audit.search(session, flt=flt, offset=(page - 1) * size, limit=size)
    check = audit.verify(session) if verify else None
    return render(
        request,
        "platform/audit.html",
        actor,
        rows=rows,
        total=total,
        page=page,
        size=size,
        f={"username": username, "action": action, "result": result, "start": start, "end": end},
        actions=audit.ACTION_NAMES,
        check=check,
        query=request.url.query,
    )
