"""Sharing across nodes: a department's request forwarded to the node that holds the resource, the decision
sent back, and federated grants (made on a request or directly) kept on both sides.

The providing node decides and holds the grant (``given``); the asking node keeps a copy (``received``)
only to route its departments' calls — the provider checks its own copy on every call (``calls``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from zhixian.catalog import service as catalog_service
from zhixian.clock import local_today
from zhixian.errors import Conflict, Invalid, NotFound, NotPermitted
from zhixian.exchange.federation import catalog_sync, keys, peers, transport
from zhixian.exchange.federation.models import FedGrant, FedRequest, Peer
from zhixian.exchange.federation.schemas import DecideIn, FedGrantIn, FedRequestIn
from zhixian.platform import audit
from zhixian.platform import service as platform_service
from zhixian.platform.actor import Actor

AUTHORITY = "exchange.authority"
STATUS_NAMES = {
    "pending": "待对方决定",
    "granted": "已同意",
    "refused": "不同意",
    "active": "有效",
    "revoked": "已撤销",
}


def _audit(session: Session, actor: Actor, action: str, object_type: str, object_id: int, **detail: Any) -> None:
    audit.record(session, actor.audit, action=action, object_type=object_type, object_id=object_id, detail=detail)


def _peer_audit(session: Session, peer: Peer, action: str, object_type: str, object_id: int, **detail: Any) -> None:
    ctx = audit.AuditContext(None, f"node:{peer.node_id}"[:64], None, "")
    audit.record(session, ctx, action=action, object_type=object_type, object_id=object_id, detail=detail)


# --- the asking node


def submit(session: Session, *, actor: Actor, key: keys.NodeKey, data: FedRequestIn) -> FedRequest:
    """A department asks another node for a resource it published here; queued for that node."""
    peer = peers.get_peer(session, data.peer_id) if data.peer_id else peers.upstream(session)
    if peer.status != "active":
        raise Invalid(f"节点 {peer.name} 尚未生效，不能转发申请", field="peer_id")
    remote = catalog_sync.remote_resource(session, peer, data.resource_code)
    if remote is None:
        raise Invalid(f"{peer.name} 的目录中没有资源 {data.resource_code}（请先同步对方目录）", field="resource_code")
    known = {str(i.get("field")) for i in remote.items}
    outside = [f for f in data.items if f not in known]
    if outside:
        raise Invalid(f"资源 {remote.name} 没有信息项：{'、'.join(outside)}", field="items")
    if data.period_end < local_today():
        raise Invalid("使用期限的结束日期不能早于今天", field="period_end")
    dept = platform_service.get_department(session, actor.department_id)
    row = FedRequest(
        direction="out",
        peer_id=peer.id,
        resource_code=remote.code,
        resource_name=remote.name,
        department_code=dept.code,
        department_name=dept.name,
        department_id=dept.id,
        items=data.items,
        operations=list(data.operations),
        purpose=data.purpose.strip(),
        period_end=data.period_end,
        status="pending",
        created_by=actor.username,
    )
    session.add(row)
    session.flush()
    payload = {
        "request_id": row.id,
        "resource_code": row.resource_code,
        "department_code": row.department_code,
        "department_name": row.department_name,
        "items": row.items,
        "operations": row.operations,
        "purpose": row.purpose,
        "period_end": row.period_end.isoformat(),
    }
    transport.enqueue(session, key=key, peer=peer, type_="request.submit", payload=payload)
    _audit(session, actor, "exchange.federation.request", "exchange_fed_request", row.id, node=peer.node_id)
    return row


def _submit_refused(session: Session, payload: dict[str, Any], why: str) -> None:
    """The provider refused the forwarded request outright (no such resource there): closed as refused."""
    row = session.get(FedRequest, int(payload.get("request_id", 0) or 0))
    if row is not None and row.direction == "out" and row.status == "pending":
        row.status, row.reason = "refused", why[:1000]


transport.ON_REFUSED["request.submit"] = _submit_refused


def receive_decision(session: Session, *, peer: Peer, payload: dict[str, Any]) -> dict[str, Any]:
    row = session.get(FedRequest, int(payload.get("request_id", 0) or 0))
    if row is None or row.direction != "out" or row.peer_id != peer.id:
        raise NotFound("本节点没有该转发申请")
    status = payload.get("status")
    if status not in ("granted", "refused"):
        raise Invalid("决定结果应为 granted 或 refused")
    row.status, row.reason = status, str(payload.get("reason", ""))[:1000]
    remote_id = payload.get("remote_id")
    row.remote_id = remote_id if isinstance(remote_id, int) else None
    row.decided_by = str(payload.get("decided_by", ""))[:64]
    if isinstance(payload.get("grant"), dict):
        receive_grant(session, peer=peer, payload=payload["grant"], request_id=row.id)
    _peer_audit(session, peer, "exchange.federation.decided", "exchange_fed_request", row.id, status=status)
    return {"note": f"申请 {row.id} 已更新为{STATUS_NAMES[status]}"}


def receive_grant(
    session: Session, *, peer: Peer, payload: dict[str, Any], request_id: int | None = None
) -> dict[str, Any]:
    remote_id, code = payload.get("grant_id"), payload.get("resource_code")
    if not isinstance(remote_id, int) or not isinstance(code, str) or not code:
        raise Invalid("授权缺少编号 grant_id 或资源代码 resource_code")
    items, operations = payload.get("items", []), payload.get("operations", [])
    if not isinstance(items, list) or not isinstance(operations, list):
        raise Invalid("授权的信息项或调用方式格式不正确")
    row = session.execute(
        select(FedGrant).where(
            FedGrant.direction == "received", FedGrant.peer_id == peer.id, FedGrant.remote_id == remote_id
        )
    ).scalar_one_or_none()
    if row is None:
        row = FedGrant(direction="received", peer_id=peer.id, remote_id=remote_id, request_id=request_id)
        session.add(row)
    try:
        row.valid_until = date.fromisoformat(str(payload.get("valid_until")))
    except ValueError:
        raise Invalid("授权截止日期格式不正确") from None
    row.resource_code, row.resource_name = (
        code[:40],
        str(payload.get("resource_name", ""))[:200],
    )
    row.department_code = str(payload.get("department_code", ""))[:32]
    row.items = [str(i) for i in items][:200]
    row.operations = [str(o) for o in operations if o in ("lookup", "query", "verify")]
    row.purpose, row.status = str(payload.get("purpose", ""))[:500], str(payload.get("status", "active"))[:12]
    session.flush()
    return {"note": f"授权 {remote_id}（{row.resource_name}）已{STATUS_NAMES.get(row.status, row.status)}"}


# --- the providing node


def receive_request(session: Session, *, peer: Peer, payload: dict[str, Any]) -> dict[str, Any]:
    """A peer's forwarded request, kept here to be decided (a second delivery of it changes nothing)."""
    remote_id = payload.get("request_id")
    if not isinstance(remote_id, int):
        raise Invalid("申请缺少编号 request_id")
    existing = session.execute(
        select(FedRequest).where(
            FedRequest.direction == "in", FedRequest.peer_id == peer.id, FedRequest.remote_id == remote_id
        )
    ).scalar_one_or_none()
    if existing is not None:
        return {"note": f"申请已登记为 {existing.id}", "request_id": existing.id}
    resource = catalog_service.resource_by_code(session, str(payload.get("resource_code", "")))
    if resource is None or resource.status != "published" or resource.classified:
        raise NotFound(f"本节点目录中没有已发布的资源 {str(payload.get('resource_code'))[:40]}")
    try:
        period_end = date.fromisoformat(str(payload.get("period_end")))
    except ValueError:
        raise Invalid("使用期限格式不正确") from None
    row = FedRequest(
        direction="in",
        peer_id=peer.id,
        remote_id=remote_id,
        resource_code=resource.code,
        resource_name=resource.name,
        department_code=str(payload.get("department_code", ""))[:32],
        department_name=str(payload.get("department_name", ""))[:100],
        items=[str(i) for i in payload.get("items", [])][:200],
        operations=[str(o) for o in payload.get("operations", []) if o in ("lookup", "query", "verify")],
        purpose=str(payload.get("purpose", ""))[:500],
        period_end=period_end,
        status="pending",
        created_by=f"node:{peer.node_id}"[:64],
    )
    session.add(row)
    session.flush()
    _peer_audit(session, peer, "exchange.federation.received", "exchange_fed_request", row.id)
    return {"note": f"申请已登记为 {row.id}，待本节点决定", "request_id": row.id}


def grant_payload(grant: FedGrant) -> dict[str, Any]:
    return {
        "grant_id": grant.id,
        "resource_code": grant.resource_code,
        "resource_name": grant.resource_name,
        "department_code": grant.department_code,
        "items": grant.items,
        "operations": grant.operations,
        "purpose": grant.purpose,
        "valid_until": grant.valid_until.isoformat(),
        "status": grant.status,
    }


def _new_grant(session: Session, actor: Actor, peer: Peer, data: FedGrantIn, request_id: int | None) -> FedGrant:
    resource = catalog_service.resource_by_code(session, data.resource_code)
    if resource is None or resource.status != "published" or resource.classified:
        raise Invalid(f"本节点目录中没有已发布的资源 {data.resource_code}", field="resource_code")
    fields = {i.field_name for i in resource.items}
    outside = [f for f in data.items if f not in fields]
    if outside:
        raise Invalid(f"资源 {resource.name} 没有信息项：{'、'.join(outside)}", field="items")
    if data.valid_until < local_today():
        raise Invalid("授权截止日期不能早于今天", field="valid_until")
    grant = FedGrant(
        direction="given",
        peer_id=peer.id,
        resource_id=resource.id,
        resource_code=resource.code,
        resource_name=resource.name,
        department_code=data.department_code.strip(),
        items=data.items,
        operations=list(data.operations),
        purpose=data.purpose.strip(),
        valid_until=data.valid_until,
        status="active",
        request_id=request_id,
        created_by=actor.username,
    )
    session.add(grant)
    session.flush()
    grant.remote_id = grant.id
    _audit(session, actor, "exchange.federation.grant", "exchange_fed_grant", grant.id, node=peer.node_id)
    return grant


def grant(session: Session, *, actor: Actor, key: keys.NodeKey, data: FedGrantIn) -> FedGrant:
    """A federated grant made directly (数据回流): the peer is told, and may route calls from then on."""
    peer = peers.get_peer(session, data.peer_id)
    if peer.status != "active":
        raise Invalid(f"节点 {peer.name} 尚未生效", field="peer_id")
    row = _new_grant(session, actor, peer, data, None)
    transport.enqueue(session, key=key, peer=peer, type_="grant.notice", payload=grant_payload(row))
    return row


def revoke_grant(session: Session, *, actor: Actor, key: keys.NodeKey, grant_id: int) -> FedGrant:
    row = session.get(FedGrant, grant_id)
    if row is None or row.direction != "given":
        raise NotFound("没有该联邦授权")
    if row.status != "revoked":
        row.status = "revoked"
        _audit(session, actor, "exchange.federation.grant_revoke", "exchange_fed_grant", row.id)
        peer = peers.get_peer(session, row.peer_id)
        transport.enqueue(session, key=key, peer=peer, type_="grant.notice", payload=grant_payload(row))
    return row


def decide(session: Session, *, actor: Actor, key: keys.NodeKey, request_id: int, data: DecideIn) -> FedRequest:
    """The data authority here decides a peer's forwarded request; the decision (and grant) goes back."""
    row = session.get(FedRequest, request_id)
    if row is None or row.direction != "in":
        raise NotFound("没有该跨节点申请")
    if row.status != "pending":
        raise Conflict(f"该申请已{STATUS_NAMES.get(row.status, row.status)}，不能再次决定")
    peer = peers.get_peer(session, row.peer_id)
    payload: dict[str, Any] = {"request_id": row.remote_id, "remote_id": row.id, "decided_by": actor.username}
    if data.approve:
        made = _new_grant(
            session,
            actor,
            peer,
            FedGrantIn(
                peer_id=peer.id,
                resource_code=row.resource_code,
                department_code=row.department_code,
                items=row.items,
                operations=row.operations or ["lookup"],
                purpose=row.purpose,
                valid_until=data.valid_until or row.period_end,
            ),
            row.id,
        )
        payload.update(status="granted", reason=data.reason, grant=grant_payload(made))
        row.status = "granted"
    else:
        payload.update(status="refused", reason=data.reason)
        row.status = "refused"
    row.reason, row.decided_by = data.reason, actor.username
    transport.enqueue(session, key=key, peer=peer, type_="request.decision", payload=payload)
    _audit(session, actor, "exchange.federation.decide", "exchange_fed_request", row.id, status=row.status)
    return row


# --- lists


def list_requests(session: Session, *, actor: Actor, direction: str = "") -> list[FedRequest]:
    stmt = select(FedRequest).order_by(FedRequest.id.desc()).limit(500)
    if direction:
        stmt = stmt.where(FedRequest.direction == direction)
    if not actor.can(AUTHORITY):  # a department: only its own forwarded requests
        stmt = stmt.where(FedRequest.direction == "out", FedRequest.department_id == actor.department_id)
    return list(session.execute(stmt).scalars())


def list_grants(session: Session, *, actor: Actor) -> list[FedGrant]:
    stmt = select(FedGrant).order_by(FedGrant.id.desc()).limit(500)
    if not actor.can(AUTHORITY):  # a department: grants received for it or for every department
        code = platform_service.get_department(session, actor.department_id).code
        stmt = stmt.where(
            FedGrant.direction == "received", or_(FedGrant.department_code == "", FedGrant.department_code == code)
        )
    return list(session.execute(stmt).scalars())


def check_live(grant: FedGrant, today: date | None = None) -> None:
    if grant.status != "active":
        raise NotPermitted(f"联邦授权 {grant.remote_id} 已撤销")
    if grant.valid_until < (today or local_today()):
        raise NotPermitted(f"联邦授权 {grant.remote_id} 已于 {grant.valid_until.isoformat()} 到期")
