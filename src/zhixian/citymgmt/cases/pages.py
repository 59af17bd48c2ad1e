"""HTML pages: operations view, case list and detail with the workflow forms, phone pages, evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from zhixian.citymgmt import service
from zhixian.citymgmt.cases import places, views, workflow
from zhixian.citymgmt.cases.api import detail
from zhixian.citymgmt.config.standards import SOURCES, STATUS_LABELS
from zhixian.citymgmt.evaluation import service as evaluation
from zhixian.citymgmt.evaluation.api import period
from zhixian.citymgmt.models import Case
from zhixian.citymgmt.schemas import ActionIn
from zhixian.clock import LOCAL_TZ, local_today, utcnow
from zhixian.errors import Conflict, Invalid
from zhixian.fields import Day
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.pagination import PageParams, page_params
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(prefix="/citymgmt", include_in_schema=False)
Viewer = Annotated[Actor, Depends(Require("citymgmt.view"))]
Signed = Annotated[Actor, Depends(Require())]
ACTION_LABELS = {name: rule.label for name, rule in workflow.RULES.items()}
ACTION_FIELDS = {
    "department_id": "处置部门",
    "target_id": "并入案件",
    "confirmed": "核实结果",
    "passed": "核查结果",
    "approve": "审批意见",
    "days": "延期工作日",
    "hours": "延期工作小时",
    "photo": "处置后照片",
}
REASON_REQUIRED = ("reject", "return", "hold", "postpone", "supervise")  # their note is a required reason


def _today_start() -> datetime:
    return datetime.combine(local_today(), time(0), tzinfo=LOCAL_TZ)


def ops_figures(session: Session, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    today = _today_start()
    open_statuses = ("reported", "verifying", "dispatching", "handling", "checking")
    count = evaluation._count
    row = session.execute(
        select(
            func.count(),
            count(and_(Case.status == "handling", Case.deadline < now)),
            count(and_(Case.status == "handling", Case.deadline >= now, Case.warn_at <= now)),
            count(Case.status == "reported"),
            count(Case.status == "dispatching"),
        ).where(Case.status.in_(open_statuses))
    ).one()
    today_in = session.execute(select(func.count()).where(Case.reported_at >= today)).scalar_one()
    today_closed = session.execute(
        select(func.count()).where(Case.status == "closed", Case.closed_at >= today)
    ).scalar_one()
    return {
        "open": int(row[0] or 0),
        "red": int(row[1] or 0),
        "yellow": int(row[2] or 0),
        "to_accept": int(row[3] or 0),
        "to_dispatch": int(row[4] or 0),
        "today_in": int(today_in),
        "today_closed": int(today_closed),
    }


@router.get("/ops")
def ops(request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    figures = ops_figures(session)
    start = _today_start().replace(day=1)
    ranking = evaluation.department_rows(session, start, utcnow() + timedelta(seconds=1))
    mix = evaluation.breakdown(session, start, utcnow() + timedelta(seconds=1))["by_source"]
    live, _ = service.list_cases(
        session, actor=actor, flt=service.CaseFilter(status="handling"), limit=15, order="deadline"
    )
    recent, _ = service.list_cases(session, actor=actor, flt=service.CaseFilter(status="closed"), limit=10)
    recent.sort(key=lambda c: c.closed_at or c.reported_at, reverse=True)
    streets = list(platform.list_divisions(session, level="town"))
    return render(
        request,
        "citymgmt/ops.html",
        actor,
        figures=figures,
        ranking=ranking,
        mix=mix,
        live=[service.case_read(session, c) for c in live],
        recent=[service.case_read(session, c) for c in recent],
        month_start=start.date().isoformat(),
        today=_today_start().date().isoformat(),
        streets=streets,
    )


@router.get("/ops/live")
def ops_live(request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    live, _ = service.list_cases(
        session, actor=actor, flt=service.CaseFilter(status="handling"), limit=15, order="deadline"
    )
    return render(request, "citymgmt/_live.html", actor, live=[service.case_read(session, c) for c in live])


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=LOCAL_TZ)
    except ValueError as exc:
        raise Invalid("日期格式应为 YYYY-MM-DD") from exc


@router.get("/cases")
def cases(
    request: Request,
    session: SessionDep,
    actor: Signed,
    paging: Annotated[PageParams, Depends(page_params)],
    status: str | None = None,
    light: Annotated[str | None, Query(pattern="^(red|yellow|overdue_closed)?$")] = None,
    source: str | None = None,
    class_code: str | None = None,
    department_id: Annotated[str | None, Query()] = None,
    grid_code: str | None = None,
    community_code: str | None = None,
    street_code: str | None = None,
    q: Annotated[str, Query(max_length=50)] = "",
    reported_from: str | None = None,
    reported_to: str | None = None,
    dispatched_from: str | None = None,
    dispatched_to: str | None = None,
) -> HTMLResponse:
    dept = int(department_id) if department_id and department_id.isdigit() else None
    to_r, to_d = _date(reported_to), _date(dispatched_to)
    flt = service.CaseFilter(
        status=status or None,
        light=light or None,
        source=source or None,
        class_code=class_code or None,
        department_id=dept,
        grid_code=grid_code or None,
        community_code=community_code or None,
        street_code=street_code or None,
        q=q,
        reported_from=_date(reported_from),
        reported_to=to_r + timedelta(days=1) if to_r else None,
        dispatched_from=_date(dispatched_from),
        dispatched_to=to_d + timedelta(days=1) if to_d else None,
    )
    rows, total = service.list_cases(session, actor=actor, flt=flt, offset=paging.offset, limit=paging.size)
    params = {k: v for k, v in request.query_params.items() if k not in ("page", "size") and v}
    from urllib.parse import urlencode

    return render(
        request,
        "citymgmt/cases.html",
        actor,
        rows=[service.case_read(session, c) for c in rows],
        places=places.places(session, rows),
        total=total,
        page=paging.page,
        size=paging.size,
        params=params,
        base_query=urlencode(params),
        statuses=STATUS_LABELS,
        sources=SOURCES,
    )


@router.get("/cases/{case_id}")
def case_page(case_id: IdPath, request: Request, session: SessionDep, actor: Signed) -> HTMLResponse:
    case = service.get_case(session, actor=actor, case_id=case_id)
    info = detail(session, case, actor)
    return render(
        request,
        "citymgmt/case.html",
        actor,
        case=info,
        action_labels=ACTION_LABELS,
        statuses=STATUS_LABELS,
        done=request.query_params.get("done"),
        **views.case_context(session, case, info, actor),
        failed=getattr(request.state, "failed_action", None),
    )


@dataclass
class FailedAction:
    """A workflow form that was refused: the case page shows it again with what was typed and why."""

    action: str
    values: dict[str, Any]
    errors: FormErrors


def action_labels(action: str) -> dict[str, str]:
    """The workflow forms' labels (_action.html draws them), by which a refusal names its fields."""
    return ACTION_FIELDS | {"note": "理由" if action in REASON_REQUIRED else "说明"}


@router.post("/cases/{case_id}/act/{action}")
async def case_act(case_id: IdPath, action: str, request: Request, session: SessionDep, actor: Signed) -> Response:
    form = await request.form()
    raw: dict[str, Any] = {}
    try:
        photos: list[service.PhotoIn] = []
        for key, value in form.multi_items():
            if isinstance(value, str):
                if key != "csrf_token" and value != "":
                    raw[key] = value
            elif value.filename:
                max_bytes = int(service.config(session)["photo_max_bytes"])
                photos.append(await service.read_upload(value, max_bytes=max_bytes, stage="after"))
        workflow.perform(
            session,
            actor=actor,
            settings=request.app.state.settings,
            case_id=case_id,
            action=action,
            data=ActionIn.model_validate(raw),
            photos=photos,
        )
    except (ValidationError, Invalid, Conflict) as exc:
        session.rollback()
        label = ACTION_LABELS.get(action, "办理")
        errors = form_errors(exc, action_labels(action), title=f"未能{label}")
        request.state.failed_action = FailedAction(action, raw, errors)
        page = case_page(case_id, request, session, actor)
        page.status_code = 409 if isinstance(exc, Conflict) else 422
        return page
    back = "/citymgmt/my" if request.query_params.get("from") == "my" else f"/citymgmt/cases/{case_id}"
    return RedirectResponse(f"{back}?done={action}", status_code=303)


@router.get("/my")
def my_tasks(request: Request, session: SessionDep, actor: Signed) -> HTMLResponse:
    rows, total = service.list_cases(
        session, actor=actor, flt=service.CaseFilter(mine=True), limit=100, order="deadline"
    )
    return render(
        request,
        "citymgmt/my.html",
        actor,
        rows=[service.case_read(session, c) for c in rows],
        places=places.places(session, rows),
        total=total,
        done=request.query_params.get("done"),
    )


@router.get("/report")
def report_page(
    request: Request, session: SessionDep, actor: Annotated[Actor, Depends(Require("citymgmt.report"))]
) -> HTMLResponse:
    return render(request, "citymgmt/report.html", actor, **views.report_context(session, actor))


@router.get("/evaluation")
def evaluation_page(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(Require("citymgmt.evaluate"))],
    start: Day | None = None,
    end: Day | None = None,
    level: Annotated[str, Query(pattern="^(street|community|grid)$")] = "street",
) -> HTMLResponse:
    lo, hi = period(start, end)
    data = {
        k: evaluation.report(session, kind=k, start=lo, end=hi, level=level)
        for k in ("department", "inspector", "region")
    }
    return render(
        request,
        "citymgmt/evaluation.html",
        actor,
        data=data,
        start=lo.date().isoformat(),
        end=(hi - timedelta(days=1)).date().isoformat(),
        level=level,
        labels=evaluation.LABELS,
    )
