"""The signed-in user's own pages: account, personal API tokens, password change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from zhixian.errors import DomainError
from zhixian.platform import auth, service
from zhixian.platform.deps import Pending, Signed, TokenCreator
from zhixian.platform.models import ApiToken
from zhixian.web.auth import SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/account")
def account(request: Request, actor: Signed, session: SessionDep) -> HTMLResponse:
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    tokens = session.execute(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).scalars().all()
    return render(request, "platform/account.html", actor, user=user, tokens=tokens, new_token=None)


@router.post("/account/tokens")
def account_new_token(
    request: Request,
    actor: TokenCreator,
    session: SessionDep,
    settings: SettingsDep,
    name: Annotated[str, Form(min_length=1, max_length=64)],
    days: Annotated[int, Form(ge=1, le=3650)] = 90,
) -> HTMLResponse:
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    plain, error = None, ""
    try:
        plain, _ = auth.create_api_token(
            session, user=user, name=name.strip(), days=days, settings=settings, ctx=actor.audit
        )
    except DomainError as exc:
        error = exc.detail
    tokens = session.execute(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).scalars().all()
    return render(
        request,
        "platform/account.html",
        actor,
        status_code=422 if error else 200,
        user=user,
        tokens=tokens,
        new_token=plain,
        error=error,
    )


@router.get("/account/password")
def password_page(request: Request, actor: Pending) -> HTMLResponse:
    return render(request, "platform/password.html", actor, errors={}, message="")


@router.post("/account/password")
def password_submit(
    request: Request,
    actor: Pending,
    session: SessionDep,
    settings: SettingsDep,
    current_password: Annotated[str, Form(max_length=128)] = "",
    new_password: Annotated[str, Form(max_length=128)] = "",
    confirm_password: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    if new_password != confirm_password:
        return render(
            request,
            "platform/password.html",
            actor,
            status_code=422,
            errors={"confirm_password": "两次输入的新密码不一致"},
            message="",
        )
    try:
        auth.change_password(
            session,
            settings=settings,
            user=user,
            current=current_password,
            new=new_password,
            ctx=actor.audit,
            session_id=actor.session_id,
        )
    except DomainError as exc:
        session.commit()  # a failed attempt is still audited
        errors: dict[str, str] = {}
        for e in exc.errors:
            errors[e.field or "_"] = errors.get(e.field or "_", "") + e.message + "；"
        return render(request, "platform/password.html", actor, status_code=422, errors=errors, message=exc.detail)
    return RedirectResponse("/?changed=1", status_code=303)
