"""The data authority's federation page: this node's key, its peers (approve a registration after comparing
fingerprints), what waits in the outbox, forwarded requests to decide, and the log of what crossed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhixian.db import outside_gate
from zhixian.errors import DomainError
from zhixian.exchange.federation import catalog_sync, keys, peers, sharing, transport
from zhixian.exchange.federation.schemas import DecideIn
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)
Authority = Annotated[Actor, Depends(Require("exchange.authority"))]
PAGE = 30
RESULTS = {"queued": "排队中", "delivered": "已送达", "accepted": "已接收", "refused": "被拒绝", "failed": "未送达"}
TYPES = {
    "catalog.publish": "目录发布",
    "request.submit": "共享申请",
    "request.decision": "申请决定",
    "grant.notice": "授权通知",
    "gateway.call": "数据调用",
    "unknown": "无法识别",
}
PEER_STATUS = {"pending": "待批准", "active": "已生效", "revoked": "已撤销"}


def _page(
    request: Request,
    actor: Actor,
    session: SessionDep,
    page: int,
    error: str = "",
    failed: tuple[str, FormErrors] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        key: keys.NodeKey | None = keys.of(request.app.state.settings)
    except keys.KeyMissing:
        key = None
    total = peers.message_count(session)
    return render(
        request,
        "exchange/federation.html",
        actor,
        status_code=status_code,
        key=key,
        peers=peers.list_peers(session),
        queue=transport.queue_state(session),
        requests=[r for r in sharing.list_requests(session, actor=actor) if r.direction == "in"],
        grants=sharing.list_grants(session, actor=actor),
        remote_count=len(catalog_sync.remote_resources(session)),
        messages=peers.recent_messages(session, limit=PAGE, offset=(page - 1) * PAGE),
        total=total,
        page=page,
        size=PAGE,
        base_query="",
        results=RESULTS,
        types=TYPES,
        peer_status=PEER_STATUS,
        status_names=sharing.STATUS_NAMES,
        done=request.query_params.get("done", ""),
        error=error,
        failed=failed,
    )


@router.get("/exchange/federation")
def federation(
    request: Request, actor: Authority, session: SessionDep, page: Annotated[int, Query(ge=1, le=10_000)] = 1
) -> HTMLResponse:
    return _page(request, actor, session, page)


@router.post("/exchange/federation/peers/{peer_id}/approve")
def approve(
    request: Request,
    actor: Authority,
    session: SessionDep,
    peer_id: IdPath,
    fingerprint: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        peers.approve(session, actor=actor, peer_id=peer_id, fingerprint=fingerprint)
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        errors = form_errors(exc, {"fingerprint": "与对方管理员核对的指纹"}, title="未批准")
        return _page(request, actor, session, 1, "", (f"fp{peer_id}", errors), 422)
    return RedirectResponse("/exchange/federation?done=approved", status_code=303)


@router.post("/exchange/federation/deliver")
def deliver(request: Request, actor: Authority, session: SessionDep) -> Response:
    try:
        key = keys.of(request.app.state.settings)
    except keys.KeyMissing as exc:
        return _page(request, actor, session, 1, str(exc), None, 409)
    db, settings = request.app.state.db, request.app.state.settings
    outside_gate(session, lambda: transport.deliver(db, settings=settings, key=key, force=True))
    return RedirectResponse("/exchange/federation?done=retried", status_code=303)


@router.post("/exchange/federation/requests/{request_id}/decide")
def decide(
    request: Request,
    actor: Authority,
    session: SessionDep,
    request_id: IdPath,
    approve: Annotated[str, Form(pattern="^(yes|no)$")],
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        key = keys.of(request.app.state.settings)
        data = DecideIn(approve=approve == "yes", reason=reason)
        row = sharing.decide(session, actor=actor, key=key, request_id=request_id, data=data)
    except keys.KeyMissing as exc:
        return _page(request, actor, session, 1, str(exc), None, 409)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        errors = form_errors(exc, {"reason": "说明"}, title="未作决定")
        return _page(request, actor, session, 1, "", (f"r{request_id}", errors), 422)
    db, settings, peer_id = request.app.state.db, request.app.state.settings, row.peer_id
    outside_gate(session, lambda: transport.deliver(db, settings=settings, key=key, peer_id=peer_id))
    return RedirectResponse("/exchange/federation?done=decided", status_code=303)
