"""System administrator's pages: divisions and departments, the working calendar, subsystems."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import DomainError, Invalid, NotFound
from zhixian.platform import org, service, uploads
from zhixian.platform.actor import Actor
from zhixian.platform.deps import CalendarManager, OrgManager, SystemManager
from zhixian.platform.schemas import CalendarOverrideIn, ImportReport
from zhixian.settings import Settings
from zhixian.web.auth import SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)


def _org_context(session: Session) -> dict[str, Any]:
    divisions = org.list_divisions(session)
    return {
        "divisions": divisions,
        "division_names": {d.code: d.name for d in divisions},
        "departments": org.list_departments(session, include_inactive=True),
    }


def _org_page(
    request: Request, actor: Actor, session: Session, *, report: ImportReport | None = None, errors: FormErrors
) -> HTMLResponse:
    return render(
        request,
        "platform/org.html",
        actor,
        status_code=422 if errors else 200,
        report=report,
        errors=errors,
        **_org_context(session),
    )


@router.get("/admin/org")
def org_page(request: Request, actor: OrgManager, session: SessionDep) -> HTMLResponse:
    return _org_page(request, actor, session, errors=FormErrors())


@router.post("/admin/org/import")
def org_import(
    request: Request,
    actor: OrgManager,
    session: SessionDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    labels = {"file": "Excel 文件"}
    try:
        content = uploads.read_limited(file.file, uploads.SPREADSHEET_MAX_BYTES, label="工作簿") if file else b""
        if not content:
            raise Invalid("请选择要导入的 Excel 文件（所选文件是空的）", field="file")
        report = org.import_bundle(session, bundle=org.parse_excel(content), actor=actor)
    except DomainError as exc:
        session.rollback()
        return _org_page(request, actor, session, errors=form_errors(exc, labels, fallback="未导入任何数据"))
    return _org_page(request, actor, session, report=report, errors=FormErrors())


CALENDAR_LABELS = {"day": "日期", "kind": "设为", "note": "说明"}
CALENDAR_KINDS = {"off": "休息日", "work": "工作日", "clear": "恢复官方安排"}


@router.get("/admin/calendar")
def calendar_page(
    request: Request,
    actor: CalendarManager,
    session: SessionDep,
    settings: SettingsDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> HTMLResponse:
    return _calendar(request, actor, session, settings, year or utcnow().year)


def _calendar(
    request: Request,
    actor: Actor,
    session: Session,
    settings: Settings,
    year: int,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
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
        status_code=422 if errors else 200,
        year=year,
        months=months,
        overrides=service.list_overrides(session, year=year),
        form=form or {},
        errors=errors or FormErrors(),
        labels=CALENDAR_LABELS,
        kinds=CALENDAR_KINDS,
    )


@router.post("/admin/calendar")
def calendar_submit(
    request: Request,
    actor: CalendarManager,
    session: SessionDep,
    settings: SettingsDep,
    day: Annotated[str, Form(max_length=100)] = "",
    kind: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    form = {"day": day, "kind": kind, "note": note}
    try:
        if kind not in CALENDAR_KINDS:
            raise Invalid("请选择休息日、工作日或恢复官方安排", field="kind")
        data = CalendarOverrideIn.model_validate({"day": day, "is_workday": kind == "work", "note": note})
        if kind == "clear":
            with contextlib.suppress(NotFound):  # clearing a day that has no override is a no-op
                service.delete_override(session, actor=actor, day=data.day)
        else:
            service.set_override(session, actor=actor, data=data)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        errors = form_errors(exc, CALENDAR_LABELS, title="未保存")
        try:
            year = date.fromisoformat(day).year  # the year of the day that was refused, if it is a day
        except ValueError:
            year = utcnow().year
        year = min(max(year, 2000), 2100)
        return _calendar(request, actor, session, settings, year, form=form, errors=errors)
    return RedirectResponse(f"/admin/calendar?year={data.day.year}", status_code=303)


@router.get("/admin/subsystems")
def subsystems_page(request: Request, actor: SystemManager) -> HTMLResponse:
    registry = request.app.state.registry
    return render(request, "platform/subsystems.html", actor, registry=registry)
