"""Gateway calls across nodes (数据回流).

On the asking node a department's application signs its call exactly as for the local gateway (HMAC-SM3,
its own client id and nonce); the node checks that signature, checks the received federated grant covers
that department and operation, and forwards the call as a message signed with the node key. The
providing node checks the node signature, then its own copy of the grant — status, date, resource,
operation, department — and answers through the same operations, masking and row filter as a local call.
Calls are answered at once or not at all: a peer that is down is a clear 503, never a queued query.
"""

from __future__ import annotations

import json
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.db import outside_gate
from zhixian.errors import DomainError, Invalid, NotFound, NotPermitted
from zhixian.exchange import gateway, operations, sources
from zhixian.exchange.federation import keys, peers, protocol, sharing, transport
from zhixian.exchange.federation.models import FedGrant, Message, Peer
from zhixian.exchange.models import Application, Call, Disclosure, Grant
from zhixian.platform import audit
from zhixian.platform import service as platform_service
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings

OPERATIONS = ("lookup", "query", "verify")
_MODELS: dict[str, type[BaseModel]] = {
    "lookup": operations.LookupIn,
    "query": operations.QueryIn,
    "verify": operations.VerifyIn,
}


_CALLS = cast(Table, Call.__table__)


def record_call(
    session: Session, peer: Peer, operation: str, *, subjects: list[tuple[str, str]] | None = None, **values: Any
) -> int:
    """A call that crossed nodes, in the same call index as local ones (usage figures, person usage),
    with the peer node named; the disclosures of a served call too (a peer read those records)."""
    row: dict[str, Any] = {
        "at": utcnow(),
        "application_id": None,
        "client_id": f"node:{peer.node_id}"[:40],
        "consumer_department_id": None,
        "resource_id": None,
        "provider_department_id": None,
        "grant_id": None,
        "operation": operation[:12],
        "items": [],
        "rows": 0,
        "purpose": "",
        "reason": "",
        "status": 200,
        "result": "成功",
        "error": "",
        "ip": "",
        "duration_ms": 0,
        "node": peer.node_id[:40],
        "node_name": peer.name[:100],
    }
    row.update(values)
    row["purpose"], row["reason"], row["error"] = row["purpose"][:500], row["reason"][:200], row["error"][:300]
    call_id = int(session.execute(insert(_CALLS).returning(_CALLS.c.id), row).scalar_one())
    if subjects:
        session.execute(
            insert(cast(Table, Disclosure.__table__)),
            [{"call_id": call_id, "kind": k, "subject": s} for k, s in subjects],
        )
    return call_id


def _rows_of(answer: Any) -> int:
    if not isinstance(answer, dict):
        return 0
    if isinstance(answer.get("rows"), list):
        return len(answer["rows"])
    return 1 if isinstance(answer.get("record"), dict) else 0


class PeerUnavailable(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, [], 503, "对方节点暂时不可用", {"Retry-After": "60"})


def _given(session: Session, peer: Peer, payload: dict[str, Any]) -> FedGrant:
    grant_id = payload.get("grant_id")
    grant = session.get(FedGrant, grant_id) if isinstance(grant_id, int) else None
    if grant is None or grant.direction != "given" or grant.peer_id != peer.id:
        raise NotPermitted(f"本节点没有给节点 {peer.name} 的联邦授权 {grant_id}")
    sharing.check_live(grant)
    if payload.get("resource_code") != grant.resource_code:
        raise NotPermitted("调用的资源与联邦授权不符")
    if grant.department_code and payload.get("department_code") != grant.department_code:
        raise NotPermitted(f"该联邦授权只给对方的部门 {grant.department_code}")
    if payload.get("operation") not in grant.operations:
        raise NotPermitted("该联邦授权不包含此调用方式")
    return grant


def serve(
    session: Session, *, settings: Settings, cipher: FieldCipher, peer: Peer, payload: dict[str, Any]
) -> dict[str, Any]:
    """Answers a peer's forwarded call under the federated grant this node gave; audited either way."""
    operation = str(payload.get("operation", ""))
    detail: dict[str, Any] = {
        "node": peer.node_id,
        "grant": payload.get("grant_id"),
        "resource": str(payload.get("resource_code", ""))[:40],
        "department": str(payload.get("department_code", ""))[:32],
        "client": str(payload.get("client_id", ""))[:40],
    }
    asker = f"{str(payload.get('department_name', ''))[:60]}（{str(payload.get('client_id', ''))[:40]}）"
    known: dict[str, Any] = {"reason": asker}
    try:
        grant = _given(session, peer, payload)
        known.update(resource_id=grant.resource_id, purpose=grant.purpose)
        source = sources.load(session, grant.resource_id or 0)
        if source is None or not source.servable:
            raise NotFound("该资源已不再通过共享网关提供")
        known["provider_department_id"] = source.department_id
        app = Application(id=-peer.id, client_id=f"node:{peer.node_id}"[:40], name=peer.name, department_id=0)
        as_grant = Grant(id=-grant.id, items=grant.items, plain_items=[], operations=grant.operations, row_filter=[])
        ctx = operations.Context(session, settings, cipher, app, source, as_grant)
        try:
            body = _MODELS[operation].model_validate(payload.get("body") or {})
        except ValueError as exc:
            raise Invalid(f"调用参数不正确：{str(exc)[:200]}") from None
        with session.begin_nested():
            result = getattr(operations, operation)(ctx, body)
    except DomainError as exc:
        result_name = "拒绝" if exc.status in (401, 403) else "失败"
        _audit(session, peer, operation, result_name, {**detail, "error": exc.detail})
        record_call(session, peer, operation, status=exc.status, result=result_name, error=exc.detail, **known)
        raise
    _audit(session, peer, operation, "成功", {**detail, "items": result.items, "rows": result.rows})
    record_call(session, peer, operation, items=result.items, rows=result.rows, subjects=result.subjects, **known)
    return {"status": 200, "body": result.body, "note": f"返回 {result.rows} 条"}


def _audit(session: Session, peer: Peer, operation: str, result: str, detail: dict[str, Any]) -> None:
    audit.record(
        session,
        audit.AuditContext(None, f"node:{peer.node_id}"[:64], None, ""),
        action="exchange.federation.serve",
        object_type="exchange_fed_grant",
        object_id=str(detail.get("grant", "")),
        result=result,
        detail={**detail, "operation": operation},
    )


def forward(
    session: Session,
    *,
    settings: Settings,
    cipher: FieldCipher,
    key: keys.NodeKey,
    incoming: gateway.Incoming,
    grant_id: int,
    operation: str,
) -> dict[str, Any]:
    """A department's signed call for a peer's resource, forwarded under the grant this node received."""
    if operation not in OPERATIONS:
        raise NotFound("调用方式应为 lookup、query 或 verify")
    now = utcnow()
    application, _ = gateway.authenticate(
        session,
        settings=settings,
        cipher=cipher,
        incoming=incoming,
        now=now,
        trace=gateway._Trace(operation),  # noqa: SLF001 - a helper of the same feature, not another's internals
    )
    grant = session.get(FedGrant, grant_id)
    if grant is None or grant.direction != "received":
        raise NotFound(f"本节点没有收到编号为 {grant_id} 的联邦授权")
    sharing.check_live(grant)
    dept = platform_service.get_department(session, application.department_id)
    if grant.department_code and grant.department_code != dept.code:
        raise NotPermitted(f"该联邦授权只给部门 {grant.department_code}，不含 {dept.name}")
    if operation not in grant.operations:
        raise NotPermitted("该联邦授权不包含此调用方式")
    try:
        body = json.loads(incoming.body or b"{}")
    except ValueError:
        raise DomainError("请求体不是有效的 JSON（UTF-8 编码的对象）", [], 400, "请求有误") from None
    peer = peers.get_peer(session, grant.peer_id)
    payload = {
        "grant_id": grant.remote_id,
        "resource_code": grant.resource_code,
        "operation": operation,
        "body": body,
        "department_code": dept.code,
        "department_name": dept.name,
        "client_id": application.client_id,
    }
    envelope = protocol.envelope(key, to=peer.node_id, type_="gateway.call", payload=payload)
    raw = protocol.dumps(envelope)
    target = transport.Target.of(peer)
    row = Message(
        direction="out",
        peer_id=peer.id,
        peer_node=peer.node_id,
        message_id=envelope["id"],
        type="gateway.call",
        digest=protocol.digest(raw),
        result="failed",
        attempts=1,
    )
    ours: dict[str, Any] = {
        "application_id": application.id,
        "client_id": application.client_id,
        "consumer_department_id": application.department_id,
        "items": list(grant.items),
        "purpose": grant.purpose,
        "reason": f"联邦授权 {grant.id}：{grant.resource_name or grant.resource_code}",
        "ip": incoming.ip[:64],
    }
    try:
        result = outside_gate(session, lambda: transport.post(settings, key, target, transport.INBOX, raw))
    except transport.PeerDown as exc:
        row.note = f"{exc}；调用未完成（实时调用不排队，请稍后重试）"[:500]
        session.add(row)
        session.flush()
        record_call(session, peer, operation, status=503, result="失败", error=f"对方节点不可用：{exc}", **ours)
        raise PeerUnavailable(f"{peer.name}暂时无法连接，本次调用未完成，请稍后重试（{exc}）") from None
    except transport.PeerRefused as exc:
        row.result, row.note = "refused", f"对方节点拒绝：{exc.detail}"[:500]
        session.add(row)
        session.flush()
        refused = "拒绝" if exc.status in (401, 403) else "失败"
        record_call(session, peer, operation, status=exc.status, result=refused, error=exc.detail, **ours)
        raise DomainError(f"{peer.name}拒绝了本次调用：{exc.detail}", [], exc.status, "对方节点拒绝") from None
    row.result, row.note, row.done_at = "delivered", f"已应答：{result.get('note', '')}"[:500], utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session,
        audit.AuditContext(None, f"app:{application.client_id}"[:64], application.department_id, incoming.ip),
        action="exchange.federation.call",
        object_type="exchange_fed_grant",
        object_id=grant.id,
        detail={"node": peer.node_id, "resource": grant.resource_code, "operation": operation},
    )
    answer = result.get("body")
    record_call(session, peer, operation, rows=_rows_of(answer), **ours)
    return answer if isinstance(answer, dict) else {}
