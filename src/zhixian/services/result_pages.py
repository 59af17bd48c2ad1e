"""The printable 结果文书 of an application and its public verification page (the QR code on the paper)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse

from zhixian.platform.actor import Actor
from zhixian.services.applications import results
from zhixian.services.portal.web import render as render_public
from zhixian.web.auth import Public, Require
from zhixian.web.deps import SessionDep
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, Depends(Require("services.view"))]
VerifyCode = Annotated[str, Path(max_length=48, description="文书编号与校验码")]


@router.get("/services/applications/{application_id}/result")
def result_document(request: Request, actor: Viewer, session: SessionDep, application_id: IdPath) -> HTMLResponse:
    """办结、不予受理或补正的文书，浏览器打印；二维码指向公开核验页。"""
    doc = results.document(session, actor=actor, cipher=request.app.state.cipher, application_id=application_id)
    verify_url = str(request.url_for("verify_result", code=doc.code))
    return render(request, "services/result.html", actor, d=doc, verify_url=verify_url)


@router.get("/services/verify/{code}", dependencies=[Public], name="verify_result")
def verify_result(request: Request, session: SessionDep, code: VerifyCode) -> HTMLResponse:
    check = results.verify(session, cipher=request.app.state.cipher, code=code)
    return render_public(request, "services/verify.html", None, c=check)
