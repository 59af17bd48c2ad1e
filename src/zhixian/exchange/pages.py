"""HTML pages of sharing requests: the queue with deadlines and lights, the request form, the request
with its timeline and the actions this user may take. Grants/applications and usage have their own modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from zhixian.clock import local_today
from zhixian.errors import DomainError, NotFound
from zhixian.exchange import apps, filters, policy, reads, requests, sources, views
from zhixian.exchange.schemas import ApproveIn, DisputeIn, RefuseIn, RequestIn, ResolveIn
from zhixian.fields import Moment
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.params import IdPath, IdQuery
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Actor, Depends(Require("exchange.view"))]
Requester = Annotated[Actor, Depends(Require("exchange.request"))]
PAGE = 30


REQUEST_LABELS = {
    "resource_id": "目录资源",
    "items": "信息项",
    "operations": "调用方式",
    "application_id": "使用数据的应用",
    "purpose": "用途",
    "legal_basis": "依据",
    "scenario": "应用场景",
    "period_start": "使用期限自",
    "period_end": "使用期限至",
    "row_scope": "行范围",
}
APPROVAL_LABELS = {
    "items": "授权的信息项",
    "plain_items": "不脱敏提供的信息项",
    "operations": "调用方式",
    "row_scope": "行范围",
    "valid_until": "有效期至",
}
# each action's form: its fields by their labels (a refusal is shown beside them) and what a refusal is titled
ACT_FORMS: dict[str, tuple[dict[str, str], str]] = {
    "approve": (APPROVAL_LABELS | {"note": "意见"}, "未同意"),
    "refuse": ({"reason": "理由"}, "未答复"),
    "resolve": (APPROVAL_LABELS | {"decision": "协调结果", "reason": "理由和依据"}, "未协调"),
    "dispute": ({"reason": "争议理由"}, "争议未提出"),
    "withdraw": ({"note": "说明"}, "未撤回"),
}


@dataclass
class FailedAction:
    """An action form that was refused: the page shows it again with what was typed and why."""

    action: str
    values: dict[str, Any]
    errors: FormErrors


def common(**extra: Any) -> dict[str, Any]:
    return {
        "status_labels": policy.STATUS_LABELS,
        "light_labels": policy.LIGHT_LABELS,
        "ops": policy.OPERATIONS,
        "call_ops": policy.CALL_OPERATIONS,
        "describe": filters.describe,
        **extra,
    }


@router.get("/exchange")
def home(actor: Viewer) -> Response:
    return RedirectResponse("/exchange/requests?box=todo" if actor.can("exchange.approve") else "/exchange/requests")


@router.get("/exchange/requests")
def request_list(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    box: Annotated[str, Query(pattern="^(all|mine|provided|todo)$")] = "all",
    status: Annotated[str, Query(pattern="^(|check|review|dispute|granted|refused|withdrawn)$")] = "",
    light: Annotated[str, Query(pattern="^(|green|yellow|red)$")] = "",
    resource_id: IdQuery = None,
    since: Annotated[Moment | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    rows, total = requests.list_requests(
        session,
        actor=actor,
        box=box,
        status=status,
        light=light,
        resource_id=resource_id,
        since=since,
        offset=(page - 1) * PAGE,
        limit=PAGE,
    )
    names = reads.Names(session)
    items = [reads.request_read(session, actor, r, names) for r in rows]
    query = f"box={box}&status={status}&light={light}" + (f"&resource_id={resource_id}" if resource_id else "")
    query += f"&since={since.strftime('%Y-%m-%dT%H:%M')}" if since else ""
    return render(
        request,
        "exchange/requests.html",
        actor,
        **common(rows=items, total=total, page=page, size=PAGE, box=box, status=status, light=light, base_query=query),
    )


def _servable(session: SessionDep, actor: Actor) -> list[sources.Listed]:
    return [
        r for r in sources.published(session) if r.base_library != "地理" and r.department_id != actor.department_id
    ]


def _form_page(
    request: Request,
    actor: Actor,
    session: SessionDep,
    settings: SettingsDep,
    resource_id: int | None,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    source = sources.load(session, resource_id) if resource_id else None
    if source is not None and (source.status != "published" or source.classified):
        source = None
    masked = views.masked_fields(source, list(source.items), (), settings) if source else set()
    today = local_today()
    defaults = {"period_start": today.isoformat(), "period_end": (today + timedelta(days=365)).isoformat()}
    return render(
        request,
        "exchange/request_new.html",
        actor,
        status_code=status_code,
        **common(
            resources=_servable(session, actor),
            source=source,
            masked=masked,
            applications=[
                a for a in apps.list_applications(session, actor=actor) if a.department_id == actor.department_id
            ],
            form={**defaults, **form},
            errors=errors,
        ),
    )


@router.get("/exchange/requests/new")
def request_form(
    request: Request, actor: Requester, session: SessionDep, settings: SettingsDep, resource_id: IdQuery = None
) -> HTMLResponse:
    return _form_page(request, actor, session, settings, resource_id, {})


@router.post("/exchange/requests/new")
def request_submit(
    request: Request,
    actor: Requester,
    session: SessionDep,
    settings: SettingsDep,
    resource_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    items: Annotated[list[str] | None, Form()] = None,
    operations: Annotated[list[str] | None, Form()] = None,
    application_id: Annotated[str, Form(max_length=12)] = "",
    purpose: Annotated[str, Form(max_length=500)] = "",
    legal_basis: Annotated[str, Form(max_length=1000)] = "",
    scenario: Annotated[str, Form(max_length=1000)] = "",
    period_start: Annotated[str, Form(max_length=10)] = "",
    period_end: Annotated[str, Form(max_length=10)] = "",
    row_scope: Annotated[str, Form(max_length=20)] = "all",
) -> Response:
    form = {
        "resource_id": resource_id,
        "items": items or [],
        "operations": operations or [],
        "application_id": int(application_id) if application_id.isdigit() else None,
        "purpose": purpose,
        "legal_basis": legal_basis,
        "scenario": scenario,
        "period_start": period_start,
        "period_end": period_end,
        "row_scope": row_scope,
    }
    try:
        data = RequestIn.model_validate(form)
        req = requests.submit(session, actor=actor, settings=settings, data=data)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        on_form = [name for name in REQUEST_LABELS if name != "resource_id"]  # the resource is chosen above the form
        errors = form_errors(exc, REQUEST_LABELS, title="申请未提交", on_form=on_form)
        status = exc.status if isinstance(exc, DomainError) else 422
        return _form_page(request, actor, session, settings, resource_id, form, errors, status)
    return RedirectResponse(f"/exchange/requests/{req.id}?done=submitted", status_code=303)


def _detail(
    request: Request,
    actor: Actor,
    session: SessionDep,
    settings: SettingsDep,
    request_id: int,
    failed: FailedAction | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    req = requests.get_request(session, actor=actor, request_id=request_id)
    out = reads.request_read(session, actor, req, with_timeline=True)
    source = sources.load(session, req.resource_id)
    item_names = source.names() if source else {}
    plain_ok = {
        f
        for f, item in (source.items.items() if source else [])
        if requests.is_authority(actor)
        or not policy.needs_authority_for_plain(
            policy.ItemGrade(item.field, item.grade, item.sensitivity, item.masking), settings
        )
    }
    return render(
        request,
        "exchange/request.html",
        actor,
        status_code=status_code,
        **common(
            r=out,
            item_names=item_names,
            plain_ok=plain_ok,
            done=request.query_params.get("done", ""),
            failed=failed,
            people=reads.people(session, [req.created_by, *(e.username for e in out.timeline)]),
        ),
    )


@router.get("/exchange/requests/{request_id}")
def request_detail(
    request: Request, actor: Viewer, session: SessionDep, settings: SettingsDep, request_id: IdPath
) -> HTMLResponse:
    return _detail(request, actor, session, settings, request_id)


def _approval(form: dict[str, Any]) -> dict[str, Any]:
    """ApproveIn fields from a form: empty lists and dates mean "as requested"."""
    row_scope = form.get("row_scope") or "keep"
    return {
        "items": form.get("items") or None,
        "plain_items": form.get("plain_items") or [],
        "operations": form.get("operations") or None,
        "row_scope": row_scope,
        "valid_until": form.get("valid_until") or None,
        "note": form.get("note", ""),
    }


@router.post("/exchange/requests/{request_id}/act/{action}")
async def request_act(
    request: Request, actor: Viewer, session: SessionDep, settings: SettingsDep, request_id: IdPath, action: str
) -> Response:
    raw = await request.form()
    form: dict[str, Any] = {
        k: raw.getlist(k) if k in ("items", "plain_items", "operations") else str(raw.get(k) or "")
        for k in raw
        if k != "csrf_token"
    }
    return await run_in_threadpool(_act, request, actor, session, settings, request_id, action, form)


def _act(
    request: Request,
    actor: Actor,
    session: SessionDep,
    settings: SettingsDep,
    request_id: int,
    action: str,
    form: dict[str, Any],
) -> Response:
    try:
        if action == "approve":
            approval = ApproveIn.model_validate(_approval(form))
            requests.approve(session, actor=actor, settings=settings, request_id=request_id, data=approval)
        elif action == "refuse":
            refusal = RefuseIn(reason=form.get("reason", ""))
            requests.refuse(session, actor=actor, settings=settings, request_id=request_id, data=refusal)
        elif action == "dispute":
            claim = DisputeIn(reason=form.get("reason", ""))
            requests.dispute(session, actor=actor, settings=settings, request_id=request_id, data=claim)
        elif action == "resolve":
            decision = ResolveIn.model_validate(
                {**_approval(form), "decision": form.get("decision"), "reason": form.get("reason", "")}
            )
            requests.resolve(session, actor=actor, settings=settings, request_id=request_id, data=decision)
        elif action == "withdraw":
            requests.withdraw(session, actor=actor, request_id=request_id, note=form.get("note", ""))
        else:
            raise NotFound("不支持的操作")
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        labels, title = ACT_FORMS[action]
        failed = FailedAction(action, form, form_errors(exc, labels, title=title))
        status = exc.status if isinstance(exc, DomainError) else 422
        return _detail(request, actor, session, settings, request_id, failed, status)
    return RedirectResponse(f"/exchange/requests/{request_id}?done={action}", status_code=303)
