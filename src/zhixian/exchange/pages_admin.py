"""HTML pages of grant management and of applications with their credentials (a secret shown once)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhixian.errors import DomainError
from zhixian.exchange import apps, grants, reads, sources
from zhixian.exchange.pages import common, problem
from zhixian.exchange.schemas import ApplicationIn, ApplicationUpdate, RenewIn
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
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


def _grant_page(
    request: Request, actor: Actor, session: SessionDep, grant_id: int, error: str = "", status_code: int = 200
) -> HTMLResponse:
    grant = grants.get_grant(session, actor=actor, grant_id=grant_id)
    source = sources.load(session, grant.resource_id)
    return render(
        request,
        "exchange/grant.html",
        actor,
        status_code=status_code,
        **common(
            g=reads.grant_read(session, actor, grant, with_timeline=True),
            item_names=source.names() if source else {},
            done=request.query_params.get("done", ""),
            error=error,
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
    if do in ("suspend", "revoke") and len(reason.strip()) < 2:
        return _grant_page(request, actor, session, grant_id, "请写明暂停或撤销的理由", 422)
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
        error, _ = problem(exc)
        return _grant_page(
            request, actor, session, grant_id, error, exc.status if isinstance(exc, DomainError) else 422
        )
    return RedirectResponse(f"/exchange/grants/{grant_id}?done={do}", status_code=303)


# --- applications


@router.get("/exchange/apps")
def app_list(request: Request, actor: Viewer, session: SessionDep) -> HTMLResponse:
    rows = [apps.application_read(session, a) for a in apps.list_applications(session, actor=actor)]
    return render(request, "exchange/apps.html", actor, **common(rows=rows))


def _app_form(
    request: Request, actor: Actor, form: dict[str, Any], error: str = "", errors: dict[str, str] | None = None
) -> HTMLResponse:
    return render(
        request,
        "exchange/app_new.html",
        actor,
        status_code=422 if error else 200,
        **common(form=form, error=error, errors=errors or {}),
    )


@router.get("/exchange/apps/new")
def app_new(request: Request, actor: Requester) -> HTMLResponse:
    return _app_form(request, actor, {})


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _number(text: str) -> int | str | None:
    text = text.strip()
    return None if not text else int(text) if text.isdigit() else text


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
    form = {
        "name": name,
        "description": description,
        "ip_allow": _lines(ip_allow),
        "rate_per_minute": _number(rate_per_minute),
        "daily_quota": _number(daily_quota),
    }
    try:
        data = ApplicationIn.model_validate(form)
        row, secret = apps.create_application(
            session, actor=actor, cipher=request.app.state.cipher, settings=settings, data=data
        )
    except (ValidationError, DomainError) as exc:
        session.rollback()
        error, errors = problem(exc)
        return _app_form(request, actor, {**form, "ip_allow": ip_allow}, error, errors)
    return _secret_page(request, actor, session, row, secret)


def _secret_page(request: Request, actor: Actor, session: SessionDep, row: Any, secret: str) -> HTMLResponse:
    page = render(
        request, "exchange/app_secret.html", actor, **common(a=apps.application_read(session, row), secret=secret)
    )
    page.headers.update(_NO_STORE)
    return page


def _app_page(
    request: Request, actor: Actor, session: SessionDep, application_id: int, error: str = "", status_code: int = 200
) -> HTMLResponse:
    row = apps.get_application(session, actor=actor, application_id=application_id)
    granted, _ = grants.list_grants(session, actor=actor, application_id=row.id, limit=100)
    names = reads.Names(session)
    return render(
        request,
        "exchange/app.html",
        actor,
        status_code=status_code,
        **common(
            a=apps.application_read(session, row),
            own=row.department_id == actor.department_id,
            grants=[reads.grant_read(session, actor, g, names) for g in granted],
            events=reads.events(session, application_id=row.id),
            done=request.query_params.get("done", ""),
            error=error,
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
    try:
        if do == "rotate":
            row, secret = apps.rotate_secret(
                session, actor=actor, cipher=request.app.state.cipher, application_id=application_id
            )
            return _secret_page(request, actor, session, row, secret)
        if do == "limits":
            data = ApplicationUpdate.model_validate(
                {
                    "ip_allow": _lines(ip_allow),
                    "rate_per_minute": _number(rate_per_minute),
                    "daily_quota": _number(daily_quota),
                }
            )
        else:
            data = ApplicationUpdate(status="disabled" if do == "disable" else "active")
        apps.update_application(session, actor=actor, application_id=application_id, data=data)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        error, _ = problem(exc)
        return _app_page(request, actor, session, application_id, error, 422)
    return RedirectResponse(f"/exchange/apps/{application_id}?done={do}", status_code=303)
