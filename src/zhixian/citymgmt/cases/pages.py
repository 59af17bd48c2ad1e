"""HTML pages: operations view, case list and detail with the workflow forms, phone pages, evaluation."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from zhixian.citymgmt import service
from zhixian.citymgmt.cases import figures, places, views, workflow
from zhixian.citymgmt.cases.api import detail
from zhixian.citymgmt.cases.filters import href
from zhixian.citymgmt.config.standards import SOURCES, STATUS_LABELS
from zhixian.citymgmt.evaluation import periods
from zhixian.citymgmt.evaluation import service as evaluation
from zhixian.citymgmt.models import CaseClass
from zhixian.citymgmt.schemas import ActionIn
from zhixian.clock import local_today, utcnow
from zhixian.errors import Conflict, Invalid, NotFound
from zhixian.fields import Day
from zhixian.platform import service as platform
from zhixian.platform.actor import COUNTY_SCOPE, Actor
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


@router.get("/ops")
def ops(request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    now = utcnow()
    today = local_today()
    ranked = periods.default_period(session)
    towns = [(d.code, d.name) for d in platform.list_divisions(session, level="town")]
    live, _ = service.list_cases(
        session, actor=actor, flt=service.CaseFilter(status="handling"), limit=15, order="deadline", now=now
    )
    closed = service.CaseFilter(status="closed")
    recent, _ = service.list_cases(session, actor=actor, flt=closed, limit=10, order="closed", now=now)
    return render(
        request,
        "citymgmt/ops.html",
        actor,
        figures=figures.ops_figures(session, actor=actor, now=now),
        ranking=evaluation.department_rows(session, *ranked.bounds),
        ranked=ranked,
        mix=figures.source_mix(session, actor=actor, start=today.replace(day=1), end=today),
        mix_label=f"{today.month}月1日至{today.day}日",
        live=[service.case_read(session, c, now=now) for c in live],
        recent=[service.case_read(session, c, now=now) for c in recent],
        recent_href=href(closed),
        streets=figures.street_figures(session, actor=actor, streets=towns, now=now),
    )


@router.get("/ops/live")
def ops_live(request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    live, _ = service.list_cases(
        session, actor=actor, flt=service.CaseFilter(status="handling"), limit=15, order="deadline"
    )
    return render(request, "citymgmt/_live.html", actor, live=[service.case_read(session, c) for c in live])


# conditions the list form shows as fields; the others (set by the figure a user followed) stay as
# hidden fields and as removable tags above the table
_FORM_FIELDS = {"q", "status", "on_hold", "light", "source"}
_MORE_FIELDS = {
    "reported_from", "reported_to", "filed_from", "filed_to", "dispatched_from", "dispatched_to",
    "closed_from", "closed_to", "filed", "dispatched", "completed", "on_time", "reworked", "postponed", "held",
}  # fmt: skip


def _filter_names(session: Session, flt: service.CaseFilter) -> dict[str, str]:
    """Names for the codes and ids a filter holds, so its tags read 综合执法局, not 7."""
    names: dict[str, str] = {}
    if flt.department_id:
        with suppress(NotFound):
            names[f"department_id:{flt.department_id}"] = platform.get_department(session, flt.department_id).name
    divisions = {d.code: d.name for d in platform.list_divisions(session)}
    for key in ("street_code", "community_code"):
        code = getattr(flt, key)
        if code in divisions:
            names[f"{key}:{code}"] = f"{divisions[code]}（{code}）"
    staff = platform.system_actor(frozenset({"platform.users.read", COUNTY_SCOPE}))
    for key in ("reporter_id", "grid_inspector_id"):
        if uid := getattr(flt, key):
            with suppress(NotFound):
                names[f"{key}:{uid}"] = platform.get_user(session, actor=staff, user_id=uid).full_name
    if flt.class_code and (cls := session.get(CaseClass, flt.class_code)) is not None:
        names[f"class_code:{flt.class_code}"] = f"{cls.name}（{cls.code}）"
    return names


@router.get("/cases")
def cases(
    request: Request,
    session: SessionDep,
    actor: Signed,
    paging: Annotated[PageParams, Depends(page_params)],
) -> HTMLResponse:
    """The case list; its query parameters are a ``CaseFilter``, the same one every figure links with."""
    flt = service.CaseFilter.from_params(request.query_params)
    rows, total = service.list_cases(session, actor=actor, flt=flt, offset=paging.offset, limit=paging.size)
    params = flt.to_params()
    names = _filter_names(session, flt)
    tags = [(label, shown, href(flt.without(key))) for key, label, shown in flt.chips(names)]
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
        hidden={k: v for k, v in params.items() if k not in _FORM_FIELDS | _MORE_FIELDS},
        more_open=any(k in _MORE_FIELDS for k in params),
        tags=tags,
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
    shown = periods.shown_period(session, start, end)
    lo, hi = shown.bounds
    data = {
        k: evaluation.report(session, kind=k, start=lo, end=hi, level=level)
        for k in ("department", "inspector", "region")
    }
    return render(
        request,
        "citymgmt/evaluation.html",
        actor,
        data=data,
        shown=shown,
        start=shown.start.isoformat(),
        end=shown.end.isoformat(),
        level=level,
        labels=evaluation.LABELS,
    )
