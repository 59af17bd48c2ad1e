"""Home page: each subsystem's cards, then what each platform administrator acts on first.

The figures are counted in services (a subsystem's ``home_cards`` contribution, ``platform.figures``)
by the same functions as the lists they link to; this route only gathers them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from zhixian.platform import figures
from zhixian.platform.actor import Actor
from zhixian.web.auth import Public, optional_actor
from zhixian.web.deps import SessionDep
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", dependencies=[Public])
def home(request: Request, session: SessionDep, actor: Annotated[Actor | None, Depends(optional_actor)]) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    if actor.mfa_pending:
        return RedirectResponse("/login/totp", status_code=303)
    if actor.must_change_password:
        return RedirectResponse("/account/password", status_code=303)
    cards = []
    for provider in request.app.state.registry.contributed("home_cards"):
        cards.extend(provider(session, actor, request.app.state.settings))
    cards.extend(figures.home_cards(session, actor, request.app.state.settings))
    return render(request, "platform/home.html", actor, cards=cards)
