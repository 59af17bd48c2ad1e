"""Peers: registration (keys exchanged, the downstream key pinned on approval) and the check every incoming
message passes — known and approved sender, fresh timestamp, valid signature under the pinned key, unused
nonce — before any handler sees it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Conflict, DomainError, Invalid, NotFound, NotPermitted
from zhixian.exchange import limits
from zhixian.exchange.federation import keys, protocol
from zhixian.exchange.federation.models import Message, Peer
from zhixian.exchange.settings import CLOCK_SKEW_SECONDS
from zhixian.platform import audit, outbound
from zhixian.platform.actor import Actor
from zhixian.platform.audit import AuditContext
from zhixian.settings import Settings


class NodeRefused(DomainError):
    """A node-to-node message that failed authentication (unsigned, forged, stale or replayed)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, [], 401, "节点认证失败", {"WWW-Authenticate": "ZX-Node-Ed25519"})


@dataclass(frozen=True)
class Received:
    """A message that passed every check: its sender and its parsed body."""

    peer: Peer
    body: dict[str, Any]
    nonce: str
    digest: str


def by_node(session: Session, node_id: str) -> Peer | None:
    return session.execute(select(Peer).where(Peer.node_id == node_id)).scalar_one_or_none()


def get_peer(session: Session, peer_id: int) -> Peer:
    peer = session.get(Peer, peer_id)
    if peer is None:
        raise NotFound("没有该联邦节点")
    return peer


def list_peers(session: Session) -> list[Peer]:
    return list(session.execute(select(Peer).order_by(Peer.role, Peer.id)).scalars())


def upstream(session: Session) -> Peer:
    """The node this one registered with (a county has one upstream: its city)."""
    peer = session.execute(select(Peer).where(Peer.role == "upstream").order_by(Peer.id)).scalars().first()
    if peer is None:
        raise NotFound("本节点尚未向上级节点注册：请先运行 zhixian exchange federation register")
    return peer


def _skew(settings: Settings, stamp: str, now: datetime) -> None:
    skew = abs(int(stamp) - int(now.timestamp()))
    if skew > settings.declared(CLOCK_SKEW_SECONDS):
        raise NodeRefused(
            f"消息时间戳与本节点时间相差 {skew} 秒，"
            f"超过允许的 {settings.declared(CLOCK_SKEW_SECONDS)} 秒，请校准两节点的时钟"
        )


def _parse(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise Invalid("消息体不是有效的 JSON") from None
    if not isinstance(data, dict):
        raise Invalid("消息体应为 JSON 对象")
    return data


def authenticate(
    session: Session, *, settings: Settings, key: keys.NodeKey, headers: Mapping[str, str], body: bytes, now: datetime
) -> Received:
    """The sender and the message, or NodeRefused/NotPermitted saying in Chinese what is wrong."""
    problem = protocol.header_problem(headers)
    if problem:
        raise NodeRefused(problem)
    node_id = headers[protocol.HEADER_NODE].strip()
    peer = by_node(session, node_id)
    if peer is None:
        raise NodeRefused(f"未登记的节点 {node_id[:40]}：请先注册并由本节点管理员批准")
    stamp, nonce = headers[protocol.HEADER_TIMESTAMP].strip(), headers[protocol.HEADER_NONCE].strip()
    _skew(settings, stamp, now)
    message = protocol.string_to_sign(node_id, stamp, nonce, body)
    if not keys.verify(peer.algorithm, peer.public_key, headers[protocol.HEADER_SIGNATURE].strip(), message):
        raise NodeRefused(f"签名验证失败：消息不是由节点 {peer.name} 登记的密钥签名的（伪造或被篡改）")
    if peer.status == "pending":
        raise NotPermitted(f"本节点尚未批准节点 {peer.name} 的注册：请联系本节点数据主管部门核对密钥指纹后批准")
    if peer.status != "active":
        raise NotPermitted(f"节点 {peer.name} 的登记已被撤销")
    ttl = timedelta(seconds=2 * settings.declared(CLOCK_SKEW_SECONDS) + 60)
    # the exchange's nonce store, in a namespace of its own: peers are keyed by minus their id
    if not limits.use_nonce(session, application_id=-peer.id, nonce=nonce, now=now, ttl=ttl):
        raise NodeRefused("重放的消息：该 nonce 已经使用过，每条消息须使用新的 nonce")
    data = _parse(body)
    if data.get("from") != node_id:
        raise NodeRefused("消息体中的发送节点与签名节点不一致")
    if data.get("to") != key.node_id:
        raise NodeRefused(f"消息的接收节点是 {str(data.get('to'))[:40]}，不是本节点（{key.node_id}）")
    if data.get("type") not in protocol.TYPES or not isinstance(data.get("payload"), dict):
        raise Invalid(f"不支持的消息类型：{str(data.get('type'))[:24]}")
    if not isinstance(data.get("id"), str) or not 8 <= len(data["id"]) <= 40:
        raise Invalid("消息缺少有效的消息编号 id")
    return Received(peer=peer, body=data, nonce=nonce, digest=protocol.digest(body))


def register(
    session: Session, *, settings: Settings, key: keys.NodeKey, headers: Mapping[str, str], body: bytes, now: datetime
) -> tuple[Peer, bool]:
    """A downstream node asks to register: it signs with the key it presents (proof that it holds it).
    Stored as pending; the key is pinned once an administrator here compares fingerprints and approves."""
    problem = protocol.header_problem(headers)
    if problem:
        raise NodeRefused(problem)
    data = _parse(body)
    node_id, algorithm, public = str(data.get("node_id", "")), str(data.get("algorithm", "")), data.get("public_key")
    if not keys.NODE_ID_RE.match(node_id) or headers[protocol.HEADER_NODE].strip() != node_id:
        raise Invalid("节点标识缺失、格式不正确或与签名节点不一致", field="node_id")
    if node_id == key.node_id:
        raise Invalid("不能向本节点自己注册", field="node_id")
    if not isinstance(public, str) or not keys.valid_public_key(algorithm, public):
        raise Invalid("公钥或算法无效（支持 ed25519）", field="public_key")
    stamp = headers[protocol.HEADER_TIMESTAMP].strip()
    _skew(settings, stamp, now)
    message = protocol.string_to_sign(node_id, stamp, headers[protocol.HEADER_NONCE].strip(), body)
    if not keys.verify(algorithm, public, headers[protocol.HEADER_SIGNATURE].strip(), message):
        raise NodeRefused("注册请求的签名与所附公钥不符")
    if data.get("to") != key.node_id:
        raise NodeRefused(f"注册请求的接收节点不是本节点（{key.node_id}）")
    name, base_url = str(data.get("name", ""))[:100].strip(), str(data.get("base_url", ""))[:300].strip()
    if not name:
        raise Invalid("请填写节点名称", field="name")
    try:
        outbound.check_url(base_url, outbound.Policy.of(settings))
    except outbound.Refused as exc:
        raise Invalid(f"节点地址 base_url 不可用：{exc}", field="base_url") from None
    peer = by_node(session, node_id)
    if peer is not None:
        if peer.public_key != public or peer.algorithm != algorithm:
            raise Conflict(f"节点 {node_id} 已登记了另一把公钥；如需更换，请本节点管理员撤销原登记后重新注册")
        peer.base_url, peer.name = base_url, name
        return peer, False
    peer = Peer(
        node_id=node_id,
        name=name,
        role="downstream",
        base_url=base_url,
        algorithm=algorithm,
        public_key=public,
        fingerprint=keys.fingerprint(algorithm, public),
        status="pending",
    )
    session.add(peer)
    session.flush()
    audit.record(
        session,
        AuditContext(None, f"node:{node_id}"[:64], None, ""),
        action="exchange.federation.register",
        object_type="exchange_fed_peer",
        object_id=peer.id,
        detail={"node": node_id, "name": name, "fingerprint": peer.fingerprint},
    )
    return peer, True


def pin_upstream(
    session: Session, *, node_id: str, name: str, base_url: str, algorithm: str, public_key: str, expect: str = ""
) -> Peer:
    """The upstream node's key as its registration answer gave it; ``expect`` is the fingerprint its
    administrator read out, checked when given."""
    if not keys.valid_public_key(algorithm, public_key):
        raise Invalid("上级节点返回的公钥无效")
    fp = keys.fingerprint(algorithm, public_key)
    if expect and expect.replace("-", "").upper() != fp.replace("-", ""):
        raise Conflict(f"上级节点公钥指纹 {fp} 与预期的 {expect} 不符：可能连到了冒充的节点，已停止注册")
    peer = by_node(session, node_id)
    if peer is not None and peer.public_key != public_key:
        raise Conflict(f"已登记的节点 {node_id} 使用另一把公钥：公钥变化须人工核对，请先撤销原登记")
    if peer is None:
        peer = Peer(node_id=node_id, role="upstream", algorithm=algorithm, public_key=public_key, fingerprint=fp)
        session.add(peer)
    peer.name, peer.base_url, peer.status = name, base_url, "active"
    session.flush()
    return peer


def approve(session: Session, *, actor: Actor, peer_id: int, fingerprint: str = "") -> Peer:
    """The data authority pins a downstream node's key after comparing its fingerprint out of band."""
    peer = get_peer(session, peer_id)
    if fingerprint and fingerprint.replace("-", "").upper() != peer.fingerprint.replace("-", ""):
        raise Invalid(f"核对的指纹与该节点登记的公钥指纹 {peer.fingerprint} 不一致，未批准", field="fingerprint")
    if peer.status == "active":
        return peer
    peer.status, peer.approved_by, peer.approved_at = "active", actor.username, utcnow()
    _audit(session, actor, "exchange.federation.approve", peer)
    return peer


def revoke(session: Session, *, actor: Actor, peer_id: int) -> Peer:
    peer = get_peer(session, peer_id)
    peer.status = "revoked"
    _audit(session, actor, "exchange.federation.revoke", peer)
    return peer


def _audit(session: Session, actor: Actor, action: str, peer: Peer) -> None:
    session.flush()
    audit.record(
        session,
        actor.audit,
        action=action,
        object_type="exchange_fed_peer",
        object_id=peer.id,
        detail={"node": peer.node_id, "name": peer.name, "fingerprint": peer.fingerprint},
    )


def log_incoming(
    session: Session, *, peer: Peer | None, node: str, message_id: str, type_: str, digest: str, result: str, note: str
) -> Message:
    row = Message(
        direction="in",
        peer_id=peer.id if peer else None,
        peer_node=(peer.node_id if peer else node)[:40],
        message_id=message_id[:40],
        type=type_[:24],
        digest=digest,
        result=result,
        note=note[:500],
    )
    session.add(row)
    session.flush()
    return row


def recent_messages(session: Session, *, limit: int = 200, offset: int = 0) -> list[Message]:
    return list(session.execute(select(Message).order_by(Message.id.desc()).offset(offset).limit(limit)).scalars())


def message_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(Message)).scalar_one())
