"""The example's page at /hello/."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.templating import render
from zhixian_hello import service
from zhixian_hello.settings import GREETING

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, Depends(Require("hello.view"))]


@router.get("/hello/")
def page(request: Request, actor: Viewer, session: SessionDep) -> HTMLResponse:
    greeting = request.app.state.settings.declared(GREETING)
    return render(
        request, "hello/index.html", actor, greeting=greeting, greetings=service.greetings(session, actor=actor)
    )
