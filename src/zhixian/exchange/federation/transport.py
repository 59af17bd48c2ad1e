"""Sending to peers: one signed POST (through the platform's outbound policy, so a peer address cannot be
aimed at this server), the answer's signature checked against the pinned key, and the outbox.

Queued messages (catalogue, requests, decisions, grants) are stored first and sent after the transaction
that made them commits; a peer that is down or has not yet approved this node leaves them queued with a
Chinese status and a next attempt (backing off to an hour), in order per peer. Nothing is dropped: only the
peer's explicit refusal ends a message, and the refusal is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.clock import LOCAL_TZ, utcnow
from zhixian.db import Database
from zhixian.exchange.federation import keys, protocol
from zhixian.exchange.federation.models import Message, Peer
from zhixian.platform import outbound
from zhixian.settings import Settings

INBOX = "/api/v1/exchange/federation/inbox"
TIMEOUT = 30.0
MAX_BACKOFF = 3600
# what to do when a peer refuses a queued message for good (e.g. a forwarded request names no such resource)
ON_REFUSED: dict[str, Callable[[Session, dict[str, Any], str], None]] = {}


class PeerDown(Exception):
    """No usable answer: connection failed, timed out, 5xx, or an answer whose signature does not check."""


@dataclass
class PeerRefused(Exception):
    status: int
    detail: str


@dataclass(frozen=True)
class Target:
    """What sending needs of a peer (plain values: no session is open while the network is waited on)."""

    node_id: str
    name: str
    base_url: str
    algorithm: str
    public_key: str

    @classmethod
    def of(cls, peer: Peer) -> Target:
        return cls(peer.node_id, peer.name, peer.base_url, peer.algorithm, peer.public_key)


def _client(settings: Settings) -> httpx.Client:
    return outbound.http_client(outbound.Policy.of(settings), timeout=TIMEOUT)


def post(settings: Settings, key: keys.NodeKey, target: Target, path: str, body: bytes) -> dict[str, Any]:
    """One signed POST; the answer's ``result`` if the peer accepted, else PeerRefused or PeerDown."""
    headers = protocol.signed_headers(key, body, utcnow())
    nonce = headers["X-ZX-Nonce"]
    try:
        with _client(settings) as client:
            resp = client.post(target.base_url.rstrip("/") + path, content=body, headers=headers)
    except outbound.Refused as exc:
        raise PeerDown(f"出站策略不允许访问该节点地址：{exc}") from None
    except httpx.HTTPError as exc:
        raise PeerDown(f"无法连接节点 {target.name}（{type(exc).__name__}）") from None
    if resp.status_code >= 500:
        raise PeerDown(f"节点 {target.name} 返回错误 {resp.status_code}")
    answer = checked_answer(target, resp, nonce)
    if resp.status_code >= 400:
        raise PeerRefused(resp.status_code, str(answer.get("detail", ""))[:400] or f"HTTP {resp.status_code}")
    result = answer.get("result")
    return result if isinstance(result, dict) else {}


def checked_answer(target: Target, resp: httpx.Response, nonce: str) -> dict[str, Any]:
    """The answer, only if the pinned key signed it and it answers this very message."""
    got = {k.lower(): v for k, v in resp.headers.items()}
    if protocol.header_problem(got) or got[protocol.HEADER_NODE] != target.node_id:
        raise PeerDown(f"节点 {target.name} 的应答没有有效签名（HTTP {resp.status_code}）")
    message = protocol.string_to_sign(
        target.node_id, got[protocol.HEADER_TIMESTAMP], got[protocol.HEADER_NONCE], resp.content
    )
    if not keys.verify(target.algorithm, target.public_key, got[protocol.HEADER_SIGNATURE], message):
        raise PeerDown(f"节点 {target.name} 的应答签名验证失败（可能被篡改或冒充）")
    try:
        answer = json.loads(resp.content)
    except ValueError:
        raise PeerDown(f"节点 {target.name} 的应答不是 JSON") from None
    if not isinstance(answer, dict) or answer.get("in_reply_to") != nonce:
        raise PeerDown(f"节点 {target.name} 的应答与本条消息不对应（可能是重放的旧应答）")
    return answer


# --- the outbox


def enqueue(session: Session, *, key: keys.NodeKey, peer: Peer, type_: str, payload: dict[str, Any]) -> Message:
    body = protocol.envelope(key, to=peer.node_id, type_=type_, payload=payload)
    row = Message(
        direction="out",
        peer_id=peer.id,
        peer_node=peer.node_id,
        message_id=body["id"],
        type=type_,
        digest=protocol.digest(protocol.dumps(body)),
        result="queued",
        note="排队中，等待发送",
        body=body,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def _local(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%m-%d %H:%M:%S")


def _later(row: Message, why: str, now: datetime) -> None:
    row.attempts += 1
    row.next_attempt_at = now + timedelta(seconds=min(30 * 2 ** (row.attempts - 1), MAX_BACKOFF))
    row.note = f"{why}，已排队，第 {row.attempts} 次尝试未送达，下次重试 {_local(row.next_attempt_at)}"[:500]


def deliver(
    db: Database, *, settings: Settings, key: keys.NodeKey, peer_id: int | None = None, force: bool = False
) -> int:
    """Sends what is due (everything queued with ``force``), oldest first; a peer that fails keeps the rest
    of its queue for later, so its messages arrive in order. Each result is its own short transaction, and
    none is open while a peer is waited on. Returns how many were delivered."""
    now = utcnow()
    with db.transaction() as session:
        query = (
            select(Message, Peer)
            .join(Peer, Peer.id == Message.peer_id)
            .where(Message.direction == "out", Message.result == "queued", Peer.status != "revoked")
        )
        if peer_id is not None:
            query = query.where(Message.peer_id == peer_id)
        if not force:
            query = query.where(Message.next_attempt_at <= now)
        due = [(m.id, m.body, Target.of(p), p.id) for m, p in session.execute(query.order_by(Message.id).limit(500))]
    stopped: set[int] = set()
    delivered = 0
    for message_id, body, target, pid in due:
        if pid in stopped or body is None:
            continue
        try:
            result = post(settings, key, target, INBOX, protocol.dumps(body))
        except PeerDown as exc:
            stopped.add(pid)
            _settle(db, message_id, _retry(str(exc)))
        except PeerRefused as exc:
            if exc.status in (401, 403):  # not yet approved, key or clock trouble: an administrator can fix it
                stopped.add(pid)
                _settle(db, message_id, _retry(f"对方节点暂不接收（{exc.detail}）"))
            else:
                _settle(db, message_id, _refused(exc.detail))
        else:
            delivered += 1
            _settle(db, message_id, _delivered(result))
    return delivered


def _retry(why: str) -> Callable[[Message], None]:
    return lambda row: _later(row, why, utcnow())


def _settle(db: Database, message_id: int, change: Callable[[Message], None]) -> None:
    with db.transaction() as session:
        row = session.get(Message, message_id)
        if row is not None and row.result == "queued":
            change(row)
            if row.result != "queued":
                row.done_at = utcnow()
            handler = ON_REFUSED.get(row.type)
            if row.result == "refused" and handler is not None and row.body is not None:
                handler(session, row.body.get("payload", {}), row.note)


def _delivered(result: dict[str, Any]) -> Callable[[Message], None]:
    def change(row: Message) -> None:
        row.attempts += 1
        row.result, row.next_attempt_at = "delivered", None
        note = str(result.get("note", ""))[:400]
        row.note = "已送达" + (f"：{note}" if note else "")

    return change


def _refused(why: str) -> Callable[[Message], None]:
    def change(row: Message) -> None:
        row.attempts += 1
        row.result, row.next_attempt_at = "refused", None
        row.note = f"对方节点拒收：{why}"[:500]

    return change


def queue_state(session: Session) -> dict[str, int]:
    """How many outgoing messages wait, and how many of them have failed at least once."""
    rows = session.execute(
        select(Message.attempts).where(Message.direction == "out", Message.result == "queued")
    ).scalars()
    waiting = list(rows)
    return {"queued": len(waiting), "retrying": sum(1 for a in waiting if a > 0)}
