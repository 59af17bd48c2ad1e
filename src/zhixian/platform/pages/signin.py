"""Sign-in pages: password, then TOTP when a role requires it, and sign-out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhixian.platform import audit, auth, service, sessions
from zhixian.platform.deps import Pending
from zhixian.platform.models import UserSession
from zhixian.settings import Settings
from zhixian.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Public,
    SettingsDep,
    check_login_csrf,
    client_ip,
    login_csrf_token,
    set_cookie,
)
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, refusal
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)
LOGIN_LABELS = {"username": "用户名", "password": "密码"}


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after login would help phishing."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login", dependencies=[Public])
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    token = login_csrf_token(request)
    response = render(
        request, "platform/login.html", None, next=_safe_next(next), errors=FormErrors(), login_csrf=token
    )
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.post("/login", dependencies=[Public])
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    check_login_csrf(request, csrf_token)
    if not username or not password:
        errors = FormErrors(message="请输入用户名和密码")
        for name, value in (("username", username), ("password", password)):
            if not value:
                errors.add(name, f"请输入{LOGIN_LABELS[name]}", LOGIN_LABELS[name])
        return render(
            request,
            "platform/login.html",
            None,
            status_code=422,
            next=_safe_next(next),
            errors=errors,
            username=username,
            login_csrf=csrf_token,
        )
    outcome = auth.authenticate(
        session,
        settings=settings,
        username=username,
        password=password,
        ctx=audit.AuditContext(ip=client_ip(request)),
        user_agent=request.headers.get("user-agent", ""),
    )
    if not outcome.ok or outcome.token is None:
        return render(
            request,
            "platform/login.html",
            None,
            status_code=401,
            next=_safe_next(next),
            errors=refusal(outcome.message),
            username=username,
            login_csrf=csrf_token,
        )
    target = _safe_next(next)
    if outcome.mfa_required:
        target = "/login/totp?next=" + quote(target)
    elif outcome.must_change_password:
        target = "/account/password"
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, SESSION_COOKIE, outcome.token, max_age=settings.session_absolute_hours * 3600)
    return response


@router.get("/login/totp")
def totp_page(
    request: Request, actor: Pending, session: SessionDep, settings: SettingsDep, next: str = "/"
) -> Response:
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    if user.totp_enabled and not actor.mfa_pending:
        return RedirectResponse("/account", status_code=303)  # enrolled and already proved it this session
    secret = None
    if not user.totp_enabled:  # enrol now: a role requires it, or the user chose it on the account page
        secret = auth.totp_begin(session, user=user, cipher=request.app.state.cipher)
    return render(
        request,
        "platform/totp.html",
        actor,
        next=_safe_next(next),
        secret=secret,
        required=_totp_required(actor.roles, settings),
        errors=FormErrors(),
        uri=auth.totp_provisioning_uri(secret, username=user.username, issuer="智县") if secret else "",
    )


def _totp_required(roles: Iterable[str], settings: Settings) -> bool:
    return bool(set(roles) & set(settings.mfa_required_roles))


@router.post("/login/totp")
def totp_submit(
    request: Request,
    actor: Pending,
    session: SessionDep,
    settings: SettingsDep,
    code: Annotated[str, Form(max_length=10)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    user = service.get_user(session, actor=actor, user_id=actor.user_id)
    ok = auth.totp_verify(
        session,
        settings=settings,
        user=user,
        code="".join(code.split()),
        cipher=request.app.state.cipher,
        ctx=actor.audit,
    )
    if not ok:
        locked = auth.is_locked(user)
        # still enrolling: show the same pending secret again, so the user can correct the app, not start over
        pending = user.totp_secret_enc if not user.totp_enabled and not locked else None
        secret = request.app.state.cipher.decrypt(pending) if pending else None
        return render(
            request,
            "platform/totp.html",
            actor,
            status_code=422,
            next=_safe_next(next),
            secret=secret,
            required=_totp_required(actor.roles, settings),
            uri=auth.totp_provisioning_uri(secret, username=user.username, issuer="智县") if secret else "",
            errors=refusal("多次验证失败，账号已锁定，请稍后重新登录")
            if locked
            else refusal("动态口令不正确、已使用过或已过期", "code", "动态口令", title="验证未通过"),
        )
    if not user.totp_enabled:
        user.totp_enabled = True
        audit.record(session, actor.audit, action="totp_enable", object_type="user", object_id=user.id)
    row = session.get(UserSession, actor.session_id)
    if row is not None:
        row.mfa_passed = True
    return RedirectResponse("/account/password" if user.must_change_password else _safe_next(next), status_code=303)


@router.post("/logout")
def logout(actor: Pending, session: SessionDep) -> Response:
    row = session.get(UserSession, actor.session_id) if actor.session_id else None
    if row is not None:
        sessions.end_session(session, row=row, ctx=actor.audit)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
