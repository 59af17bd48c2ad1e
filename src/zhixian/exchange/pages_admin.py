"""HTML pages of grant management and of applications with their credentials (a secret shown once)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from zhixian.errors import DomainError
from zhixian.exchange import apps, grants, reads, sources
from zhixian.exchange.pages import FailedAction, common
from zhixian.exchange.schemas import ApplicationIn, ApplicationUpdate, RenewIn
from zhixian.exchange.settings import DAILY_QUOTA, RATE_PER_MINUTE
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors, refusal
from zhixian.web.params import IdPath, IdQuery
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Actor, Depends(Require("exchange.view"))]
Approver = Annotated[Actor, Depends(Require("exchange.approve"))]
Requester = Annotated[Actor, Depends(Require("exchange.request"))]
PAGE = 30
_NO_STORE = {"Cache-Control": "no-store"}


@router.get("/exchange/grants")
def grant_list(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    box: Annotated[str, Query(pattern="^(all|received|given)$")] = "all",
    state: Annotated[str, Query(pattern="^(|active|pending|expired|expiring|suspended|revoked)$")] = "",
    application_id: IdQuery = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    rows, total = grants.list_grants(
        session,
        actor=actor,
        box=box,
        state_value=state,
        application_id=application_id,
        offset=(page - 1) * PAGE,
        limit=PAGE,
    )
    names = reads.Names(session)
    query = f"box={box}&state={state}" + (f"&application_id={application_id}" if application_id else "")
    return render(
        request,
        "exchange/grants.html",
        actor,
        **common(
            rows=[reads.grant_read(session, actor, g, names) for g in rows],
            total=total,
            page=page,
            size=PAGE,
            box=box,
            state=state,
            base_query=query,
        ),
    )


# the grant page's forms: suspend/revoke share one ("stop"), resume and renew have their own
GRANT_FORMS = {"suspend": "stop", "revoke": "stop", "resume": "resume", "renew": "renew"}
GRANT_LABELS = {"reason": "理由", "valid_until": "续期至"}
APP_LABELS = {
    "name": "应用名称",
    "description": "说明",
    "ip_allow": "来源地址白名单",
    "rate_per_minute": "每分钟调用上限",
    "daily_quota": "每日调用配额",
}


def _grant_page(
    request: Request,
    actor: Actor,
    session: Session,
    grant_id: int,
    failed: FailedAction | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    grant = grants.get_grant(session, actor=actor, grant_id=grant_id)
    source = sources.load(session, grant.resource_id)
    out = reads.grant_read(session, actor, grant, with_timeline=True)
    if not apps.visible(session, actor=actor, application_id=grant.application_id):
        out.application_id = None  # the provider sees which application, not the consumer's application page
    return render(
        request,
        "exchange/grant.html",
        actor,
        status_code=status_code,
        **common(
            g=out,
            item_names=source.names() if source else {},
            done=request.query_params.get("done", ""),
            failed=failed,
            people=reads.people(session, [e.username for e in out.timeline]),
        ),
    )


@router.get("/exchange/grants/{grant_id}")
def grant_detail(request: Request, actor: Viewer, session: SessionDep, grant_id: IdPath) -> HTMLResponse:
    return _grant_page(request, actor, session, grant_id)


@router.post("/exchange/grants/{grant_id}/act")
def grant_act(
    request: Request,
    actor: Approver,
    session: SessionDep,
    settings: SettingsDep,
    grant_id: IdPath,
    do: Annotated[str, Form(pattern="^(suspend|resume|renew|revoke)$")],
    reason: Annotated[str, Form(max_length=1000)] = "",
    valid_until: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    values = {"reason": reason, "valid_until": valid_until}
    if do in ("suspend", "revoke") and len(reason.strip()) < 2:
        errors = refusal("请写明暂停或撤销的理由", "reason", "理由", title="未办理")
        return _grant_page(request, actor, session, grant_id, FailedAction(GRANT_FORMS[do], values, errors), 422)
    try:
        if do in ("suspend", "revoke"):
            (grants.suspend if do == "suspend" else grants.revoke)(
                session, actor=actor, grant_id=grant_id, reason=reason
            )
        elif do == "resume":
            grants.resume(session, actor=actor, grant_id=grant_id, note=reason)
        else:
            data = RenewIn.model_validate({"valid_until": valid_until, "note": reason})
            grants.renew(
                session, actor=actor, settings=settings, grant_id=grant_id, valid_until=data.valid_until, note=data.note
            )
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        labels = GRANT_LABELS | ({"reason": "说明"} if do in ("resume", "renew") else {})
        errors = form_errors(exc, labels, title="未办理", place=lambda e: "reason" if e.field == "note" else None)
        failed = FailedAction(GRANT_FORMS[do], values, errors)
        return _grant_page(
            request, actor, session, grant_id, failed, exc.status if isinstance(exc, DomainError) else 422
        )
    return RedirectResponse(f"/exchange/grants/{grant_id}?done={do}", status_code=303)


# --- applications


@router.get("/exchange/apps")
def app_list(request: Request, actor: Viewer, session: SessionDep) -> HTMLResponse:
    rows = [apps.application_read(session, a) for a in apps.list_applications(session, actor=actor)]
    return render(request, "exchange/apps.html", actor, **common(rows=rows))


def _app_form(
    request: Request, actor: Actor, form: dict[str, Any], errors: FormErrors | None = None, status_code: int = 200
) -> HTMLResponse:
    settings = request.app.state.settings
    defaults = {"rate_per_minute": settings.declared(RATE_PER_MINUTE), "daily_quota": settings.declared(DAILY_QUOTA)}
    return render(
        request,
        "exchange/app_new.html",
        actor,
        status_code=status_code,
        **common(form=form, errors=errors, defaults=defaults),
    )


@router.get("/exchange/apps/new")
def app_new(request: Request, actor: Requester) -> HTMLResponse:
    return _app_form(request, actor, {})


def _app_limits(typed: dict[str, str]) -> dict[str, Any]:
    """The limit fields as typed, for the schema: one address per line (or comma), empty numbers as unset."""
    lines = typed["ip_allow"].replace(",", "\n").splitlines()
    numbers = {k: typed[k].strip() or None for k in ("rate_per_minute", "daily_quota")}
    return {"ip_allow": [line.strip() for line in lines if line.strip()], **numbers}


@router.post("/exchange/apps/new")
def app_create(
    request: Request,
    actor: Requester,
    session: SessionDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=1000)] = "",
    ip_allow: Annotated[str, Form(max_length=3000)] = "",
    rate_per_minute: Annotated[str, Form(max_length=12)] = "",
    daily_quota: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    typed = {
        "name": name,
        "description": description,
        "ip_allow": ip_allow,
        "rate_per_minute": rate_per_minute,
        "daily_quota": daily_quota,
    }
    try:
        data = ApplicationIn.model_validate(_app_limits(typed) | {"name": name, "description": description})
        row, secret = apps.create_application(
            session, actor=actor, cipher=request.app.state.cipher, settings=settings, data=data
        )
    except (ValidationError, DomainError) as exc:
        session.rollback()
        errors = form_errors(exc, APP_LABELS, title="应用未登记")
        return _app_form(request, actor, typed, errors, exc.status if isinstance(exc, DomainError) else 422)
    return _secret_page(request, actor, session, row, secret)


def _secret_page(request: Request, actor: Actor, session: SessionDep, row: Any, secret: str) -> HTMLResponse:
    page = render(
        request, "exchange/app_secret.html", actor, **common(a=apps.application_read(session, row), secret=secret)
    )
    page.headers.update(_NO_STORE)
    return page


def _app_page(
    request: Request,
    actor: Actor,
    session: Session,
    application_id: int,
    failed: FailedAction | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    row = apps.get_application(session, actor=actor, application_id=application_id)
    granted, _ = grants.list_grants(session, actor=actor, application_id=row.id, limit=100)
    names = reads.Names(session)
    events = reads.events(session, application_id=row.id)
    return render(
        request,
        "exchange/app.html",
        actor,
        status_code=status_code,
        **common(
            a=apps.application_read(session, row),
            own=row.department_id == actor.department_id,
            grants=[reads.grant_read(session, actor, g, names) for g in granted],
            events=events,
            people=reads.people(session, [e.username for e in events]),
            done=request.query_params.get("done", ""),
            failed=failed,
        ),
    )


@router.get("/exchange/apps/{application_id}")
def app_detail(request: Request, actor: Viewer, session: SessionDep, application_id: IdPath) -> HTMLResponse:
    return _app_page(request, actor, session, application_id)


@router.post("/exchange/apps/{application_id}")
def app_update(
    request: Request,
    actor: Requester,
    session: SessionDep,
    application_id: IdPath,
    do: Annotated[str, Form(pattern="^(limits|disable|enable|rotate)$")],
    ip_allow: Annotated[str, Form(max_length=3000)] = "",
    rate_per_minute: Annotated[str, Form(max_length=12)] = "",
    daily_quota: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    typed = {"ip_allow": ip_allow, "rate_per_minute": rate_per_minute, "daily_quota": daily_quota}
    try:
        if do == "rotate":
            row, secret = apps.rotate_secret(
                session, actor=actor, cipher=request.app.state.cipher, application_id=application_id
            )
            return _secret_page(request, actor, session, row, secret)
        if do == "limits":
            data = ApplicationUpdate.model_validate(_app_limits(typed))
        else:
            data = ApplicationUpdate(status="disabled" if do == "disable" else "active")
        apps.update_application(session, actor=actor, application_id=application_id, data=data)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        errors = form_errors(exc, APP_LABELS, title="未保存" if do == "limits" else "未办理")
        failed = FailedAction(do, typed, errors)
        return _app_page(
            request, actor, session, application_id, failed, exc.status if isinstance(exc, DomainError) else 422
        )
    return RedirectResponse(f"/exchange/apps/{application_id}?done={do}", status_code=303)
