"""JSON routes under /api/v1/hello: each declares its permission; the work is in ``service``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from zhixian.citymgmt import service as citymgmt
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian_hello import service
from zhixian_hello.schemas import HelloReportIn, HelloReportRead, StatusRead

router = APIRouter(prefix="/api/v1/hello", tags=["示例扩展"])
Viewer = Annotated[Actor, Depends(Require("hello.view"))]
Reporter = Annotated[Actor, Depends(Require("hello.report"))]


@router.get("/status", summary="示例扩展状态")
def status(actor: Viewer, session: SessionDep) -> StatusRead:
    return service.status(session, actor=actor)


@router.post("/reports", status_code=201, summary="通过示例渠道上报问题（成为数字城管案件）")
def report(data: HelloReportIn, request: Request, actor: Reporter, session: SessionDep) -> HelloReportRead:
    state = request.app.state
    options = citymgmt.intake_options(state.registry, settings=state.settings, cipher=state.cipher)
    return service.report(session, actor=actor, options=options, data=data)
