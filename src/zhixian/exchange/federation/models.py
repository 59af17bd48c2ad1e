"""Tables of federation: peers and their pinned keys, remote catalogue entries, forwarded requests,
federated grants and the message log that is also the outbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhixian.clock import utcnow
from zhixian.db import Base
from zhixian.exchange.models import BigId


class Peer(Base):
    """Another node: its id, address and pinned public key. ``role`` is what it is to this node
    (upstream: we registered with it; downstream: it registered with us)."""

    __tablename__ = "exchange_fed_peer"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(12))  # upstream downstream
    base_url: Mapped[str] = mapped_column(String(300))
    algorithm: Mapped[str] = mapped_column(String(16))  # ed25519
    public_key: Mapped[str] = mapped_column(String(200))  # base64 of the raw public key
    fingerprint: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending active revoked
    approved_by: Mapped[str] = mapped_column(String(64), default="")
    approved_at: Mapped[datetime | None]
    published_until: Mapped[datetime | None]  # our catalogue changes up to here are queued for this peer
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RemoteResource(Base):
    """A resource of another node's catalogue, as it last published it (marked with its origin)."""

    __tablename__ = "exchange_fed_resource"

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("exchange_fed_peer.id"), index=True)
    origin_node: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(100), default="")
    share_type: Mapped[str] = mapped_column(String(8), default="")
    grade: Mapped[str] = mapped_column(String(4), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    digest: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("peer_id", "code"),)


class FedRequest(Base):
    """A sharing request that crossed nodes. On the asking node ``direction`` is out (a department's request,
    forwarded up); on the providing node it is in (to be decided here). ``remote_id`` is the other side's id."""

    __tablename__ = "exchange_fed_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(4))  # out in
    peer_id: Mapped[int] = mapped_column(ForeignKey("exchange_fed_peer.id"), index=True)
    remote_id: Mapped[int | None]
    resource_code: Mapped[str] = mapped_column(String(40))
    resource_name: Mapped[str] = mapped_column(String(200), default="")
    department_code: Mapped[str] = mapped_column(String(32))  # the asking department, on the asking node
    department_name: Mapped[str] = mapped_column(String(100), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)  # out: ours
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    operations: Mapped[list[str]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(String(500))
    period_end: Mapped[date]
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending granted refused
    reason: Mapped[str] = mapped_column(String(1000), default="")
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("direction", "peer_id", "remote_id"),)


class FedGrant(Base):
    """A federated grant: the providing node (``direction`` given) lets a peer's department (any of its
    departments when ``department_code`` is empty) call one of its resources; the peer keeps a copy
    (``direction`` received) to route its departments' calls. ``remote_id`` is the provider's grant id."""

    __tablename__ = "exchange_fed_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))  # given received
    peer_id: Mapped[int] = mapped_column(ForeignKey("exchange_fed_peer.id"), index=True)
    remote_id: Mapped[int | None]
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resource.id"))  # given: ours
    resource_code: Mapped[str] = mapped_column(String(40))
    resource_name: Mapped[str] = mapped_column(String(200), default="")
    department_code: Mapped[str] = mapped_column(String(32), default="")
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    operations: Mapped[list[str]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(String(500))
    valid_until: Mapped[date]
    status: Mapped[str] = mapped_column(String(12), default="active")  # active revoked
    request_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_fed_request.id"))
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("direction", "peer_id", "remote_id"),)


class Message(Base):
    """One message that crossed (or waits to cross) between this node and a peer. Outgoing messages keep
    their body until delivered: a peer that is down delays them, never loses them."""

    __tablename__ = "exchange_fed_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    direction: Mapped[str] = mapped_column(String(4))  # out in
    peer_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_fed_peer.id"), index=True)
    peer_node: Mapped[str] = mapped_column(String(40), default="")
    message_id: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(24))
    digest: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(12), index=True)  # queued delivered accepted refused failed
    note: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_exchange_fed_message_at", "at"),
        Index("ix_exchange_fed_message_peer_msg", "peer_id", "direction", "message_id"),
    )
