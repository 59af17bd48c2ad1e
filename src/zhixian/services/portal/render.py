"""Rendering a portal page: the public layout (``portal/base.html``), never the staff menu."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from zhixian.services.portal.session import CitizenActor
from zhixian.web.auth import LOGIN_CSRF_COOKIE, login_csrf_token, set_cookie


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
