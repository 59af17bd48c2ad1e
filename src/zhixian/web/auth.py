"""Authentication and permission dependencies: every route declares one of these.

``Require("perm")`` resolves the actor (session cookie or bearer token), checks CSRF for
cookie-authenticated writes, sends users with a pending duty (bootstrap password, TOTP) to do it
first, and checks the permission. ``public`` marks the few routes that need no sign-in.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request, Response

from zhixian.errors import MustAct, NotAuthenticated, NotPermitted
from zhixian.platform import service, sessions
from zhixian.platform.actor import Actor
from zhixian.platform.service import ADMIN_PERMISSION_KIND
from zhixian.settings import Settings
from zhixian.web.deps import SessionDep

SESSION_COOKIE = "zx_session"
LOGIN_CSRF_COOKIE = "zx_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def optional_actor(request: Request, session: SessionDep) -> Actor | None:
    settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        user_id = sessions.resolve_api_token(session, token=header[7:].strip(), settings=settings)
        actor = service.load_actor(session, user_id=user_id, ip=client_ip(request), via="token") if user_id else None
        if actor is None:
            raise NotAuthenticated("API 令牌无效、已吊销或已过期")
        return actor
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    live = sessions.resolve_session(session, settings=settings, token=token)
    actor = None
    if live is not None:
        actor = service.load_actor(
            session,
            user_id=live.user_id,
            ip=client_ip(request),
            session_id=live.id,
            csrf_token=live.csrf_token,
            mfa_pending=not live.mfa_passed,
        )
    if actor is None:
        request.state.session_ended = True
    return actor


async def current_actor(request: Request, actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    if actor is None:
        ended = getattr(request.state, "session_ended", False)
        raise NotAuthenticated("会话已超时或已退出，请重新登录" if ended else "请先登录")
    return actor


async def check_csrf(request: Request, expected: str | None) -> None:
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        raise NotPermitted("表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试")


class Require:
    """Dependency: the signed-in actor, holding ``permission`` (None: any signed-in user)."""

    def __init__(
        self, permission: str | None = None, *, allow_pending: bool = False, session_only: bool = False
    ) -> None:
        self.permission = permission
        self.allow_pending = allow_pending
        self.session_only = session_only  # e.g. creating API tokens: a token cannot breed further tokens

    async def __call__(self, request: Request, actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if actor.via == "session" and request.method not in SAFE_METHODS:
            await check_csrf(request, actor.csrf_token)
        if not self.allow_pending:
            if actor.mfa_pending:
                raise MustAct("请先完成动态口令验证", "/login/totp")
            if actor.must_change_password:
                raise MustAct("首次登录或密码已过期，请先修改密码", "/account/password")
        if self.session_only and actor.via != "session":
            raise NotPermitted("此操作只能在登录会话中进行，API 令牌不能执行（例如不能用令牌创建新令牌）")
        if self.permission:
            actor.require(self.permission)
            settings: Settings = request.app.state.settings
            if self.permission in ADMIN_PERMISSION_KIND and not settings.admin_allowed_from(actor.ip):
                raise NotPermitted("管理功能只允许从指定的内部网段访问")
        return actor


async def public() -> None:
    """Marks a route that deliberately needs no sign-in (login page, health, Open311 reads)."""


Public = Depends(public)
Signed = Annotated[Actor, Depends(Require())]


# --- the login form's own CSRF token (no session exists yet): double-submit cookie


def login_csrf_token(request: Request) -> str:
    """The browser's existing login token, or a new one; the page sets it as a cookie and a form field."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not token or len(token) < 20 or len(token) > 64:
        token = secrets.token_urlsafe(24)
    return token


def check_login_csrf(request: Request, sent: str) -> None:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, sent):
        raise NotPermitted("登录表单已过期（CSRF 校验失败），请刷新页面后重试")


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    settings: Settings = request.app.state.settings
    secure = settings.cookie_secure == "always" or (settings.cookie_secure == "auto" and request.url.scheme == "https")
    response.set_cookie(name, value, max_age=max_age, httponly=True, secure=secure, samesite="lax", path="/")
