"""What a node does with a message that arrives: authenticate it, skip what it already handled (a retried
delivery), hand it to its handler, and log it whatever the outcome. Refusals are answered, not raised,
so the log row and the spent nonce are committed with the answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.errors import DomainError
from zhixian.exchange.federation import calls, catalog_sync, keys, peers, protocol, sharing
from zhixian.exchange.federation.models import Message, Peer
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


Handler = Callable[[Session, Peer, dict[str, Any]], dict[str, Any]]


def _handlers(settings: Settings, cipher: FieldCipher) -> dict[str, Handler]:
    return {
        "catalog.publish": lambda s, p, d: catalog_sync.apply(s, peer=p, payload=d),
        "request.submit": lambda s, p, d: sharing.receive_request(s, peer=p, payload=d),
        "request.decision": lambda s, p, d: sharing.receive_decision(s, peer=p, payload=d),
        "grant.notice": lambda s, p, d: sharing.receive_grant(s, peer=p, payload=d),
        "gateway.call": lambda s, p, d: calls.serve(s, settings=settings, cipher=cipher, peer=p, payload=d),
    }


def problem(exc: DomainError) -> dict[str, Any]:
    return {
        "type": "about:blank",
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
        "errors": [e.as_dict() for e in exc.errors],
    }


def _handled_before(session: Session, peer: Peer, message_id: str) -> Message | None:
    return (
        session.execute(
            select(Message).where(
                Message.peer_id == peer.id,
                Message.direction == "in",
                Message.message_id == message_id,
                Message.result == "accepted",
            )
        )
        .scalars()
        .first()
    )


def receive(
    session: Session,
    *,
    settings: Settings,
    cipher: FieldCipher,
    key: keys.NodeKey,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> Answer:
    digest = protocol.digest(body)
    node = headers.get(protocol.HEADER_NODE, "").strip()[:40] or "?"
    received: peers.Received | None = None
    try:
        received = peers.authenticate(session, settings=settings, key=key, headers=headers, body=body, now=now)
        data, peer = received.body, received.peer
        type_ = data["type"]
        if type_ in protocol.QUEUED_TYPES and _handled_before(session, peer, data["id"]) is not None:
            result: dict[str, Any] = {"note": "重复送达的消息，已处理过，未再处理", "duplicate": True}
        elif type_ in protocol.DIRECT_TYPES:  # a call records its own refusal (audit) before raising
            result = _handlers(settings, cipher)[type_](session, peer, data["payload"])
        else:  # a message that fails half-way leaves nothing behind
            with session.begin_nested():
                result = _handlers(settings, cipher)[type_](session, peer, data["payload"])
        peers.log_incoming(
            session,
            peer=peer,
            node=node,
            message_id=data["id"],
            type_=type_,
            digest=digest,
            result="accepted",
            note=str(result.get("note", "已接收"))[:500],
        )
        return Answer(200, {"ok": True, "result": result})
    except DomainError as exc:
        data = received.body if received else {}
        peers.log_incoming(
            session,
            peer=received.peer if received else None,
            node=node,
            message_id=str(data.get("id", ""))[:40],
            type_=str(data.get("type", "") or "unknown")[:24],
            digest=digest,
            result="refused",
            note=f"{exc.title}：{exc.detail}",
        )
        return Answer(exc.status, problem(exc))
