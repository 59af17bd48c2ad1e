"""Federation routes under /api/v1/exchange/federation.

Node-to-node routes (node, register, inbox) are Public for the route walk: no user signs in, every message
is authenticated by its node signature inside ``peers``/``inbox``, and every answer is signed with this
node's key. The forwarding gateway is authenticated by the calling application's HMAC-SM3 signature, as the
local gateway is. The rest are management routes for signed-in users, each with its permission.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from zhixian.clock import utcnow
from zhixian.db import outside_gate
from zhixian.errors import DomainError
from zhixian.exchange.federation import calls, catalog_sync, inbox, keys, peers, protocol, sharing, transport
from zhixian.exchange.federation.models import Message
from zhixian.exchange.federation.schemas import (
    DecideIn,
    FedGrantIn,
    FedGrantRead,
    FedRequestIn,
    FedRequestRead,
    MessageRead,
    PeerRead,
    RemoteResourceRead,
)
from zhixian.exchange.gateway_api import RawBody, _incoming
from zhixian.platform.actor import Actor
from zhixian.web.auth import Public, Require
from zhixian.web.deps import SessionDep
from zhixian.web.params import IdPath

router = APIRouter(prefix="/api/v1/exchange/federation", tags=["节点联邦（上下贯通）"])

Viewer = Annotated[Actor, Depends(Require("exchange.view"))]
Requester = Annotated[Actor, Depends(Require("exchange.request"))]
Authority = Annotated[Actor, Depends(Require("exchange.authority"))]


def node_key(request: Request) -> keys.NodeKey:
    """This node's key, made on first use (as the platform's other keys are) when ``keygen`` was not run."""
    settings = request.app.state.settings
    try:
        return keys.of(settings)
    except keys.KeyMissing as exc:
        raise DomainError(str(exc), [], 503, "本节点联邦密钥不可用") from None


KeyDep = Annotated[keys.NodeKey, Depends(node_key)]


def signed(key: keys.NodeKey, status: int, body: dict[str, Any], in_reply_to: str) -> Response:
    """An answer signed with this node's key, naming the nonce it answers."""
    raw = protocol.dumps({**body, "in_reply_to": in_reply_to})
    headers = protocol.signed_headers(key, raw, utcnow())
    headers.pop("Content-Type")
    headers["Cache-Control"] = "no-store"
    media = "application/json" if status < 400 else "application/problem+json"
    return Response(content=raw, status_code=status, headers=headers, media_type=media)


def identity(key: keys.NodeKey) -> dict[str, Any]:
    return {
        "node_id": key.node_id,
        "name": key.name,
        "algorithm": key.algorithm,
        "public_key": key.public_key,
        "fingerprint": key.fingerprint,
    }


def _headers(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


# --- node to node


@router.get("/node", dependencies=[Public], summary="本节点标识与公钥（注册前核对指纹）")
def node(key: KeyDep) -> Response:
    return signed(key, 200, {"ok": True, "result": identity(key)}, "")


@router.post("/register", dependencies=[Public], summary="下级节点注册（以所附公钥签名；须本节点管理员批准）")
def register(request: Request, session: SessionDep, key: KeyDep, body: RawBody) -> Response:
    headers = _headers(request)
    nonce = headers.get(protocol.HEADER_NONCE, "")[:64]
    try:
        peer, created = peers.register(
            session, settings=request.app.state.settings, key=key, headers=headers, body=body, now=utcnow()
        )
    except DomainError as exc:
        session.rollback()
        return signed(key, exc.status, inbox.problem(exc), nonce)
    note = "已登记，待本节点数据主管部门核对指纹后批准" if peer.status == "pending" else "已登记"
    result = {**identity(key), "status": peer.status, "created": created, "note": note}
    return signed(key, 200, {"ok": True, "result": result}, nonce)


@router.post("/inbox", dependencies=[Public], summary="接收其他节点签名的消息（目录、申请、决定、授权、调用）")
def receive(request: Request, session: SessionDep, key: KeyDep, body: RawBody) -> Response:
    headers = _headers(request)
    answer = inbox.receive(
        session,
        settings=request.app.state.settings,
        cipher=request.app.state.cipher,
        key=key,
        headers=headers,
        body=body,
        now=utcnow(),
    )
    return signed(key, answer.status, answer.body, headers.get(protocol.HEADER_NONCE, "")[:64])


@router.post(
    "/gateway/{grant_id}/{operation}",
    dependencies=[Public],
    summary="本县应用调用上级节点授权的资源（应用 HMAC-SM3 签名，由本节点转发并签名）",
)
def forward(request: Request, session: SessionDep, grant_id: IdPath, operation: str, body: RawBody) -> JSONResponse:
    key = node_key(request)  # after the path is checked: a bad id is a 422 whatever the key
    try:
        answer = calls.forward(
            session,
            settings=request.app.state.settings,
            cipher=request.app.state.cipher,
            key=key,
            incoming=_incoming(request, body),
            grant_id=grant_id,
            operation=operation,
        )
    except DomainError:
        session.commit()  # the spent nonce and the record of a refused or failed call are kept
        raise
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


# --- management


def _deliver(request: Request, session: SessionDep, key: keys.NodeKey, peer_id: int | None) -> int:
    """Sends what was just queued, after it is committed and without holding the database."""
    db, settings = request.app.state.db, request.app.state.settings
    return outside_gate(session, lambda: transport.deliver(db, settings=settings, key=key, peer_id=peer_id))


@router.get("/peers", summary="联邦节点")
def list_peers(_: Authority, session: SessionDep) -> list[PeerRead]:
    return [PeerRead.model_validate(p) for p in peers.list_peers(session)]


class ApproveIn(BaseModel):
    fingerprint: str = Field(default="", max_length=64, description="与对方管理员核对过的公钥指纹")


@router.post("/peers/{peer_id}/approve", summary="批准下级节点的注册（固定其公钥）")
def approve_peer(actor: Authority, session: SessionDep, peer_id: IdPath, data: ApproveIn) -> PeerRead:
    return PeerRead.model_validate(peers.approve(session, actor=actor, peer_id=peer_id, fingerprint=data.fingerprint))


@router.post("/peers/{peer_id}/revoke", summary="撤销节点登记")
def revoke_peer(actor: Authority, session: SessionDep, peer_id: IdPath) -> PeerRead:
    return PeerRead.model_validate(peers.revoke(session, actor=actor, peer_id=peer_id))


class PublishIn(BaseModel):
    peer_id: int | None = Field(default=None, ge=1, description="为空则发布给上级节点")
    full: bool = Field(default=False, description="全量重发（对方按摘要去重）")


@router.post("/publish", summary="向节点发布本节点目录（增量）")
def publish(request: Request, actor: Authority, session: SessionDep, data: PublishIn) -> dict[str, Any]:
    key = node_key(request)
    peer = peers.get_peer(session, data.peer_id) if data.peer_id else peers.upstream(session)
    message = catalog_sync.publish(session, key=key, peer=peer, full=data.full)
    if message is None:
        return {"queued": False, "note": "目录自上次发布以来没有变化"}
    message_id = message.id
    _deliver(request, session, key, peer.id)
    row = session.get(Message, message_id)
    return {"queued": True, "message": MessageRead.model_validate(row).model_dump(mode="json") if row else None}


@router.get("/resources", summary="其他节点发布的目录（远端目录）")
def remote(_: Viewer, session: SessionDep) -> list[RemoteResourceRead]:
    return [RemoteResourceRead.model_validate(r) for r in catalog_sync.remote_resources(session)]


@router.post("/requests", summary="申请其他节点的资源（转发到对方节点决定）", status_code=201)
def submit(request: Request, actor: Requester, session: SessionDep, data: FedRequestIn) -> FedRequestRead:
    key = node_key(request)
    row = sharing.submit(session, actor=actor, key=key, data=data)
    row_id, peer_id = row.id, row.peer_id
    _deliver(request, session, key, peer_id)
    return FedRequestRead.model_validate(session.get(type(row), row_id))


@router.get("/requests", summary="跨节点的共享申请")
def list_requests(actor: Viewer, session: SessionDep) -> list[FedRequestRead]:
    return [FedRequestRead.model_validate(r) for r in sharing.list_requests(session, actor=actor)]


@router.post("/requests/{request_id}/decide", summary="决定其他节点转发来的申请")
def decide(
    request: Request, actor: Authority, session: SessionDep, request_id: IdPath, data: DecideIn
) -> FedRequestRead:
    key = node_key(request)
    row = sharing.decide(session, actor=actor, key=key, request_id=request_id, data=data)
    _deliver(request, session, key, row.peer_id)
    return FedRequestRead.model_validate(session.get(type(row), request_id))


@router.post("/grants", summary="直接给其他节点的联邦授权（数据回流）", status_code=201)
def grant(request: Request, actor: Authority, session: SessionDep, data: FedGrantIn) -> FedGrantRead:
    key = node_key(request)
    row = sharing.grant(session, actor=actor, key=key, data=data)
    row_id = row.id
    _deliver(request, session, key, data.peer_id)
    return FedGrantRead.model_validate(session.get(type(row), row_id))


@router.post("/grants/{grant_id}/revoke", summary="撤销给其他节点的联邦授权")
def revoke_grant(request: Request, actor: Authority, session: SessionDep, grant_id: IdPath) -> FedGrantRead:
    key = node_key(request)
    row = sharing.revoke_grant(session, actor=actor, key=key, grant_id=grant_id)
    _deliver(request, session, key, row.peer_id)
    return FedGrantRead.model_validate(session.get(type(row), grant_id))


@router.get("/grants", summary="联邦授权（给出的与收到的）")
def list_grants(actor: Viewer, session: SessionDep) -> list[FedGrantRead]:
    return [FedGrantRead.model_validate(g) for g in sharing.list_grants(session, actor=actor)]


@router.get("/messages", summary="节点间消息记录")
def messages(_: Authority, session: SessionDep) -> list[MessageRead]:
    return [MessageRead.model_validate(m) for m in peers.recent_messages(session, limit=500)]


@router.post("/deliver", summary="立即重试排队中的消息")
def deliver(request: Request, _: Authority, session: SessionDep) -> dict[str, Any]:
    key = node_key(request)
    db, settings = request.app.state.db, request.app.state.settings
    sent = outside_gate(session, lambda: transport.deliver(db, settings=settings, key=key, force=True))
    return {"delivered": sent, **transport.queue_state(session)}
