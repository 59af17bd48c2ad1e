"""The signed-in user's own pages: account, personal API tokens, password change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.errors import DomainError
from zhixian.platform import auth, service, sessions
from zhixian.platform.actor import Actor
from zhixian.platform.deps import Pending, Signed, TokenCreator
from zhixian.platform.models import ApiToken
from zhixian.platform.schemas import ApiTokenCreate
from zhixian.web.auth import SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)


TOKEN_LABELS = {"name": "名称", "days": "有效天数"}
PASSWORD_LABELS = {"current_password": "当前密码", "new_password": "新密码", "confirm_password": "再次输入新密码"}


def _account(
    request: Request,
    actor: Actor,
    session: Session,
    *,
    new_token: str | None = None,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    tokens = session.execute(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).scalars().all()
    return render(
        request,
        "platform/account.html",
        actor,
        status_code=422 if errors else 200,
        user=user,
        tokens=tokens,
        new_token=new_token,
        form=form or {},
        errors=errors or FormErrors(),
        labels=TOKEN_LABELS,
    )


@router.get("/account")
def account(request: Request, actor: Signed, session: SessionDep) -> HTMLResponse:
    return _account(request, actor, session)


@router.post("/account/tokens")
def account_new_token(
    request: Request,
    actor: TokenCreator,
    session: SessionDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=1000)] = "",
    days: Annotated[str, Form(max_length=100)] = "",
) -> HTMLResponse:
    form = {"name": name, "days": days}
    try:
        data = ApiTokenCreate.model_validate({"name": name, "days": days.strip() or None})
        user = service.get_user(session, actor=actor, user_id=actor.user_id)
        plain, _ = sessions.create_api_token(
            session, user=user, name=data.name, days=data.days, settings=settings, ctx=actor.audit
        )
    except (ValidationError, DomainError) as exc:
        session.rollback()
        return _account(request, actor, session, form=form, errors=form_errors(exc, TOKEN_LABELS, title="令牌未创建"))
    return _account(request, actor, session, new_token=plain)


@router.get("/account/password")
def password_page(request: Request, actor: Pending) -> HTMLResponse:
    return render(request, "platform/password.html", actor, errors=FormErrors(), labels=PASSWORD_LABELS)


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
    errors = FormErrors()
    for name, value in (("current_password", current_password), ("new_password", new_password)):
        if not value:
            errors.add(name, "必填", PASSWORD_LABELS[name])
    if new_password != confirm_password:
        errors.add("confirm_password", "两次输入的新密码不一致", PASSWORD_LABELS["confirm_password"])
    if not errors:
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
            errors = form_errors(exc, PASSWORD_LABELS, title="密码未修改")
        else:
            return RedirectResponse("/?changed=1", status_code=303)
    errors.message = errors.message or "密码未修改"
    return render(request, "platform/password.html", actor, status_code=422, errors=errors, labels=PASSWORD_LABELS)
