"""The citizen realm's web glue: route dependencies (``CitizenDep``, ``MaybeCitizen``) and the page renderer.

Rendering uses the public layout (``portal/base.html``), never the staff menu.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from zhixian.errors import NotAuthenticated
from zhixian.services.portal.sessions import CITIZEN_COOKIE, CitizenActor, resolve
from zhixian.web.auth import LOGIN_CSRF_COOKIE, SAFE_METHODS, check_csrf, client_ip, login_csrf_token, set_cookie
from zhixian.web.deps import SessionDep


def optional_citizen(request: Request, session: SessionDep) -> CitizenActor | None:
    token = request.cookies.get(CITIZEN_COOKIE)
    if not token:
        return None
    return resolve(session, settings=request.app.state.settings, token=token, ip=client_ip(request))


async def require_citizen(
    request: Request, citizen: Annotated[CitizenActor | None, Depends(optional_citizen)]
) -> CitizenActor:
    if citizen is None:
        raise NotAuthenticated("请先实名登录")
    if request.method not in SAFE_METHODS:
        await check_csrf(request, citizen.csrf_token)
    return citizen


CitizenDep = Annotated[CitizenActor, Depends(require_citizen)]
MaybeCitizen = Annotated[CitizenActor | None, Depends(optional_citizen)]


def render(
    request: Request, name: str, citizen: CitizenActor | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A portal page. Signed out, forms carry the double-submit login token (cookie ``zx_csrf``)."""
    app = request.app
    csrf = citizen.csrf_token if citizen else login_csrf_token(request)
    base = {"citizen": citizen, "actor": None, "menu": [], "settings": app.state.settings, "csrf_token": csrf}
    base.update(context)
    response: HTMLResponse = app.state.templates.TemplateResponse(request, name, base, status_code=status_code)
    if citizen is None:
        set_cookie(request, response, LOGIN_CSRF_COOKIE, csrf, max_age=None)
    return response
