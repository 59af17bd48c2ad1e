"""System administrator's pages: divisions and departments, the working calendar, subsystems."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import DomainError
from zhixian.platform import org, service, uploads
from zhixian.platform.deps import CalendarManager, OrgManager, SystemManager
from zhixian.platform.schemas import CalendarOverrideIn
from zhixian.web.auth import SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)


def _org_context(session: Session) -> dict[str, Any]:
    divisions = org.list_divisions(session)
    return {
        "divisions": divisions,
        "division_names": {d.code: d.name for d in divisions},
        "departments": org.list_departments(session, include_inactive=True),
    }


@router.get("/admin/org")
def org_page(request: Request, actor: OrgManager, session: SessionDep) -> HTMLResponse:
    return render(request, "platform/org.html", actor, report=None, errors=[], **_org_context(session))


@router.post("/admin/org/import")
def org_import(
    request: Request,
    actor: OrgManager,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    report, errors = None, ["上传的文件是空的"]
    try:
        content = uploads.read_limited(file.file, uploads.SPREADSHEET_MAX_BYTES, label="工作簿")
    except DomainError as exc:
        content, errors = b"", [exc.errors[0].message]
    if content:
        try:
            report = org.import_bundle(session, bundle=org.parse_excel(content), actor=actor)
            errors = []
        except DomainError as exc:
            session.rollback()
            errors = [exc.detail] + [e.message for e in exc.errors]
    return render(
        request,
        "platform/org.html",
        actor,
        status_code=422 if errors else 200,
        report=report,
        errors=errors,
        **_org_context(session),
    )


@router.get("/admin/calendar")
def calendar_page(
    request: Request,
    actor: CalendarManager,
    session: SessionDep,
    settings: SettingsDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> HTMLResponse:
    year = year or utcnow().year
    cal = service.working_calendar(session, settings=settings)
    months = []
    for month in range(1, 13):
        first = date(year, month, 1)
        days = []
        d = first
        while d.month == month:
            days.append((d, cal.is_workday(d)))
            d += timedelta(days=1)
        months.append((month, first.weekday(), days))
    return render(
        request,
        "platform/calendar.html",
        actor,
        year=year,
        months=months,
        overrides=service.list_overrides(session, year=year),
        errors={},
    )


@router.post("/admin/calendar")
def calendar_submit(
    request: Request,
    actor: CalendarManager,
    session: SessionDep,
    day: Annotated[str, Form(max_length=10)],
    kind: Annotated[str, Form(pattern="^(work|off|clear)$")],
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        return RedirectResponse("/admin/calendar?error=date", status_code=303)
    if kind == "clear":
        with contextlib.suppress(DomainError):  # clearing a day that has no override is a no-op
            service.delete_override(session, actor=actor, day=parsed)
    else:
        service.set_override(
            session, actor=actor, data=CalendarOverrideIn(day=parsed, is_workday=kind == "work", note=note)
        )
    return RedirectResponse(f"/admin/calendar?year={parsed.year}", status_code=303)


@router.get("/admin/subsystems")
def subsystems_page(request: Request, actor: SystemManager) -> HTMLResponse:
    registry = request.app.state.registry
    return render(request, "platform/subsystems.html", actor, registry=registry)
