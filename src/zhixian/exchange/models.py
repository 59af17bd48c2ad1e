"""Tables of the exchange: sharing requests and their timeline, grants, applications and what they called.

Nonces and rate-limit counters are tables too: every app worker and process must see the same ones.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhixian.clock import utcnow
from zhixian.db import Base

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Application(Base):
    """A consuming department's system that calls the gateway with a client id and an HMAC-SM3 secret."""

    __tablename__ = "exchange_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(1000), default="")
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    # SM4-GCM (platform.crypto): the server needs the secret itself to check an HMAC, so it is encrypted,
    # never shown again after it is issued; the fingerprint lets both sides see which secret is in use
    secret_enc: Mapped[str] = mapped_column(String(255))
    secret_fingerprint: Mapped[str] = mapped_column(String(16), default="")
    secret_version: Mapped[int] = mapped_column(default=1)
    secret_rotated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip_allow: Mapped[list[str]] = mapped_column(JSON, default=list)
    rate_per_minute: Mapped[int] = mapped_column(default=600)
    daily_quota: Mapped[int] = mapped_column(default=100_000)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active disabled
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShareRequest(Base):
    """共享申请: a department asks for a resource (or some items of it), for a purpose and a period."""

    __tablename__ = "exchange_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    resource_code: Mapped[str] = mapped_column(String(40))  # as requested (the catalogue may change later)
    resource_name: Mapped[str] = mapped_column(String(200))
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    consumer_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_application.id"), index=True)
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    operations: Mapped[list[str]] = mapped_column(JSON, default=list)  # lookup query verify
    row_filter: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(String(500))
    legal_basis: Mapped[str] = mapped_column(String(1000), default="")
    scenario: Mapped[str] = mapped_column(String(1000), default="")
    period_start: Mapped[date]
    period_end: Mapped[date]
    share_type: Mapped[str] = mapped_column(String(8))  # the strictest of the resource and the items asked for
    status: Mapped[str] = mapped_column(String(12), index=True)  # check review dispute granted refused withdrawn
    stage_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    remind_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    refused_by: Mapped[str] = mapped_column(String(12), default="")  # catalogue provider authority
    refusal_reason: Mapped[str] = mapped_column(String(1000), default="")
    dispute_reason: Mapped[str] = mapped_column(String(1000), default="")
    disputed: Mapped[bool] = mapped_column(default=False)
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[datetime | None]
    answer_seconds: Mapped[float | None]  # working time the deciding stage took
    on_time: Mapped[bool | None]
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_exchange_request_status_due", "status", "due_at"),)


class Grant(Base):
    """授权: what a department (optionally one application of it) may read of a resource, until when, why."""

    __tablename__ = "exchange_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_request.id"), unique=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    resource_code: Mapped[str] = mapped_column(String(40))
    resource_name: Mapped[str] = mapped_column(String(200))
    base_library: Mapped[str] = mapped_column(String(4), default="")  # 人口 法人: base-database reads honour it
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    consumer_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_application.id"), index=True)
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    plain_items: Mapped[list[str]] = mapped_column(JSON, default=list)  # delivered unmasked (decrypted)
    operations: Mapped[list[str]] = mapped_column(JSON, default=list)
    row_filter: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(String(500))
    legal_basis: Mapped[str] = mapped_column(String(1000), default="")
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    status: Mapped[str] = mapped_column(String(12), default="active", index=True)  # active suspended revoked
    status_reason: Mapped[str] = mapped_column(String(1000), default="")
    expiry_noted: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(Base):
    """One step of a request's, grant's or application's life, shown as its timeline (also audited)."""

    __tablename__ = "exchange_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_request.id"), index=True)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_grant.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_application.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(64), default="")
    department_id: Mapped[int | None]
    note: Mapped[str] = mapped_column(String(1000), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Call(Base):
    """One gateway call (its audit record holds the same facts, chained); the index usage figures open."""

    __tablename__ = "exchange_call"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_application.id"))
    client_id: Mapped[str] = mapped_column(String(40), default="")
    consumer_department_id: Mapped[int | None]
    resource_id: Mapped[int | None]
    provider_department_id: Mapped[int | None]
    grant_id: Mapped[int | None]
    operation: Mapped[str] = mapped_column(String(12))  # list lookup query verify
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    rows: Mapped[int] = mapped_column(default=0)
    purpose: Mapped[str] = mapped_column(String(500), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[int] = mapped_column(default=200)
    result: Mapped[str] = mapped_column(String(8), default="成功")  # 成功 拒绝 失败
    error: Mapped[str] = mapped_column(String(300), default="")
    audit_id: Mapped[int | None] = mapped_column(BigInteger)
    ip: Mapped[str] = mapped_column(String(64), default="")
    duration_ms: Mapped[int] = mapped_column(default=0)
    # a call that crossed nodes: the peer node that answered it (forwarded) or asked it (served)
    node: Mapped[str] = mapped_column(String(40), default="", server_default="")
    node_name: Mapped[str] = mapped_column(String(100), default="", server_default="")

    __table_args__ = (
        Index("ix_exchange_call_at", "at"),
        Index("ix_exchange_call_app_at", "application_id", "at"),
        Index("ix_exchange_call_resource_at", "resource_id", "at"),
        Index("ix_exchange_call_consumer_at", "consumer_department_id", "at"),
    )


class Disclosure(Base):
    """Whose record a call returned, by blind index only: the basis of a person's "who used my data"."""

    __tablename__ = "exchange_disclosure"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("exchange_call.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # person legal record


class Nonce(Base):
    """A nonce seen from an application, kept while its timestamp could still be accepted."""

    __tablename__ = "exchange_nonce"

    application_id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RateCounter(Base):
    """Calls of an application in one window (a minute, a day), counted by the database for all workers."""

    __tablename__ = "exchange_rate"

    application_id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(16), primary_key=True)  # m:<minute number> d:<local date>
    calls: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class FeedEntry(Base):
    """One version of a shared row, numbered in the order it was noticed: the change feed's spine.

    Integration's own history (``integration_change``) lists replaced values only, not new rows, and
    its ids are not commit order on PostgreSQL; this log is appended by one sweeper at a time (a lock),
    so ``id`` is a stable order a consumer can resume from. A row version is its ``updated_at``."""

    __tablename__ = "exchange_feed_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # person legal record
    resource_id: Mapped[int | None]  # departmental records only: base-database rows belong to every 人口/法人 resource
    row_id: Mapped[int] = mapped_column(BigId)
    row_updated_at: Mapped[datetime]
    logged_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_exchange_feed_entry_scope", "kind", "resource_id", "id"),
        Index("ix_exchange_feed_entry_row", "kind", "row_id", "row_updated_at"),
    )


class FeedSweep(Base):
    """How far the sweeper has looked (one row): rows updated since then, less a margin, are looked at again."""

    __tablename__ = "exchange_feed_sweep"

    id: Mapped[int] = mapped_column(primary_key=True)
    swept_to: Mapped[datetime]
    entries: Mapped[int] = mapped_column(default=0)


class Subscription(Base):
    """A consumer application's standing order: push the changes of a granted resource to its callback URL."""

    __tablename__ = "exchange_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("exchange_application.id"), index=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("exchange_grant.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    consumer_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    callback_url: Mapped[str] = mapped_column(String(500))
    items: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every granted item
    status: Mapped[str] = mapped_column(String(12), default="active")  # active paused cancelled
    position: Mapped[int] = mapped_column(BigInteger, default=0)  # last feed entry put in the outbox
    next_number: Mapped[int] = mapped_column(default=1)
    delivered_number: Mapped[int] = mapped_column(default=0)
    last_delivered_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """The outbox: one batch of feed entries for one subscription, sent until the receiver answers 2xx.

    Numbered per subscription; only the lowest pending number of a subscription may be claimed, so n+1
    never leaves before n is acknowledged. A claim is a lease (``claimed_until``) with a token, taken
    with FOR UPDATE SKIP LOCKED on PostgreSQL, under SQLite's single writer otherwise."""

    __tablename__ = "exchange_delivery"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("exchange_subscription.id", ondelete="CASCADE"))
    number: Mapped[int]
    after_seq: Mapped[int] = mapped_column(BigInteger)
    upto_seq: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending delivered superseded
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str] = mapped_column(String(32), default="")
    last_status: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(String(300), default="")
    call_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_exchange_delivery_subscription_number", "subscription_id", "number", unique=True),
        Index("ix_exchange_delivery_due", "status", "next_attempt_at"),
    )


class Correction(Base):
    """数据异议: a consumer department objects to items of a record it received in a gateway call; the
    provider answers within a limit (accepting corrects the record through integration, with history)."""

    __tablename__ = "exchange_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(BigId, ForeignKey("exchange_call.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    resource_code: Mapped[str] = mapped_column(String(40))
    resource_name: Mapped[str] = mapped_column(String(200))
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    consumer_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    entity: Mapped[str] = mapped_column(String(8))  # person legal record
    entity_id: Mapped[int] = mapped_column(BigId)
    record_label: Mapped[str] = mapped_column(String(200), default="")  # the key as shown masked
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    # what the consumer believes is right, SM4-encrypted JSON (it may be personal data)
    proposed_enc: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(12), index=True)  # open accepted rejected
    stage_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    remind_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    answer: Mapped[str] = mapped_column(String(1000), default="")  # the rejection's reason or the acceptance's note
    changed_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[datetime | None]
    on_time: Mapped[bool | None]
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_exchange_correction_status_due", "status", "due_at"),)


class CorrectionEvent(Base):
    """One step of a correction, shown as its timeline (and audited with the same facts)."""

    __tablename__ = "exchange_correction_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    correction_id: Mapped[int] = mapped_column(ForeignKey("exchange_correction.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(64), default="")
    department_id: Mapped[int | None]
    note: Mapped[str] = mapped_column(String(1000), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ExportJob(Base):
    """A bulk export (批量导出) an application asked for: run by a worker, it writes one gzip file of the
    granted rows, masked as a query would be, that only the same application may download until it expires.

    Claimed like the outbox: a lease (``claimed_until``) with a token, FOR UPDATE SKIP LOCKED on PostgreSQL."""

    __tablename__ = "exchange_export"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("exchange_application.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"))
    grant_id: Mapped[int] = mapped_column(ForeignKey("exchange_grant.id"), index=True)
    consumer_department_id: Mapped[int | None]
    provider_department_id: Mapped[int | None]
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    filters: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # the caller's, checked
    format: Mapped[str] = mapped_column(String(8), default="csv")  # csv jsonl
    reason: Mapped[str] = mapped_column(String(200), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued running done failed expired
    error: Mapped[str] = mapped_column(String(300), default="")
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    file_name: Mapped[str] = mapped_column(String(100), default="")  # under <data_dir>/exports
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str] = mapped_column(String(32), default="")
    call_id: Mapped[int | None] = mapped_column(BigInteger)  # the call that records what left the node
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_exchange_export_due", "status", "created_at"),)
