"""HTML pages of change subscriptions: the list (both sides), the form, one subscription with its outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhixian.errors import DomainError
from zhixian.exchange import subscriptions
from zhixian.exchange.feed_schemas import SubscriptionIn
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Actor, Depends(Require("exchange.view"))]
Requester = Annotated[Actor, Depends(Require("exchange.request"))]
PAGE = 30
LABELS = {
    "application_id": "应用",
    "grant_id": "授权",
    "callback_url": "推送地址",
    "items": "信息项",
    "start": "起点",
    "cursor": "游标",
}


@router.get("/exchange/subscriptions")
def subscription_list(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    box: Annotated[str, Query(pattern="^(all|mine|provided)$")] = "all",
) -> HTMLResponse:
    rows = [subscriptions.read(session, r) for r in subscriptions.list_subscriptions(session, actor=actor, box=box)]
    return render(request, "exchange/subscriptions.html", actor, rows=rows, box=box)


def _form(
    request: Request,
    actor: Actor,
    session: SessionDep,
    form: dict[str, str],
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    applications, grants = subscriptions.subscribable(session, actor=actor)
    return render(
        request,
        "exchange/subscription_new.html",
        actor,
        status_code=status_code,
        applications=[(a.id, f"{a.name}（{a.client_id}）") for a in applications],
        grants=[(g.id, f"#{g.id} {g.resource_name}（至 {g.valid_until}）") for g in grants],
        form=form,
        errors=errors,
    )


@router.get("/exchange/subscriptions/new")
def subscription_new(request: Request, actor: Requester, session: SessionDep) -> HTMLResponse:
    return _form(request, actor, session, {"start": "now"})


@router.post("/exchange/subscriptions/new")
def subscription_create(
    request: Request,
    actor: Requester,
    session: SessionDep,
    settings: SettingsDep,
    application_id: Annotated[str, Form()] = "",
    grant_id: Annotated[str, Form()] = "",
    callback_url: Annotated[str, Form()] = "",
    items: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "now",
) -> Response:
    form = {
        "application_id": application_id,
        "grant_id": grant_id,
        "callback_url": callback_url,
        "items": items,
        "start": start,
    }
    try:
        data = SubscriptionIn.model_validate(
            {
                "application_id": application_id or None,
                "grant_id": grant_id or None,
                "callback_url": callback_url,
                "items": [i for i in items.replace("，", ",").split(",") if i.strip()] or None,
                "start": start,
            }
        )
        row = subscriptions.create(session, actor=actor, settings=settings, data=data)
    except (ValidationError, DomainError) as exc:
        errors = form_errors(exc, LABELS, title="订阅未保存")
        return _form(request, actor, session, form, errors, 422)
    return RedirectResponse(f"/exchange/subscriptions/{row.id}", status_code=303)


def _detail(
    request: Request,
    actor: Actor,
    session: SessionDep,
    subscription_id: int,
    status: str,
    page: int,
    errors: FormErrors | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    row = subscriptions.get(session, actor=actor, subscription_id=subscription_id)
    rows, total = subscriptions.deliveries(
        session, actor=actor, subscription_id=row.id, status=status, offset=(page - 1) * PAGE, limit=PAGE
    )
    return render(
        request,
        "exchange/subscription.html",
        actor,
        status_code=status_code,
        sub=subscriptions.read(session, row),
        manage=subscriptions.can_manage(session, actor, row),
        deliveries=[subscriptions.delivery_read(d) for d in rows],
        total=total,
        page=page,
        size=PAGE,
        status=status,
        base_query=f"status={status}",
        errors=errors,
        notice=notice,
        labels=subscriptions.DELIVERY_LABELS,
    )


@router.get("/exchange/subscriptions/{subscription_id}")
def subscription_page(
    request: Request,
    subscription_id: IdPath,
    actor: Viewer,
    session: SessionDep,
    status: Annotated[str, Query(pattern="^(|pending|delivered|superseded)$")] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    return _detail(request, actor, session, subscription_id, status, page)


@router.post("/exchange/subscriptions/{subscription_id}/status")
def subscription_status(
    subscription_id: IdPath,
    actor: Requester,
    session: SessionDep,
    to: Annotated[str, Form(pattern="^(paused|active|cancelled)$")],
) -> Response:
    subscriptions.set_status(session, actor=actor, subscription_id=subscription_id, status=to)
    return RedirectResponse(f"/exchange/subscriptions/{subscription_id}", status_code=303)


@router.post("/exchange/subscriptions/{subscription_id}/replay")
def subscription_replay(
    request: Request,
    subscription_id: IdPath,
    actor: Requester,
    session: SessionDep,
    settings: SettingsDep,
    cursor: Annotated[str, Form()] = "",
) -> Response:
    try:
        count = subscriptions.replay(
            session, actor=actor, settings=settings, subscription_id=subscription_id, cursor=cursor.strip()
        )
    except DomainError as exc:
        errors = form_errors(exc, LABELS, title="未重新推送", on_form=["cursor"])
        if not errors.fields:
            errors.add("cursor", exc.detail, "游标")
        return _detail(request, actor, session, subscription_id, "", 1, errors, status_code=exc.status)
    notice = f"已从该游标重新排队推送（取代待送达批次 {count} 个）"
    return _detail(request, actor, session, subscription_id, "", 1, notice=notice)
