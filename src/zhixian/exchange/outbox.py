"""The persistent outbox of subscriptions: queued in order, claimed by any worker, sent at least once.

* ``enqueue`` (under the feed lock, one writer) cuts each active subscription's new feed entries into
  numbered batches; a subscription never has more than ``max_pending`` batches waiting, the rest stay in
  the feed (nothing is lost, the backlog shows).
* ``claim`` leases due batches, only the lowest pending number of each subscription, so batch n+1 is not
  sent before n is acknowledged. PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so claimers in several
  processes never take the same row; SQLite: every transaction is ``BEGIN IMMEDIATE`` (one writer).
* ``prepare`` checks the grant again and renders the batch (masked per grant) in a short transaction;
  the HTTP POST runs outside any transaction; ``complete`` records the attempt (call, disclosures, one
  audit record) and either marks the batch delivered or schedules a retry with exponential back-off,
  capped. A lease outlives the HTTP timeout, so a slow send is not taken over while it is still running.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Table, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from zhixian.clock import local_today
from zhixian.exchange import apps, feed, grants, signing, sources
from zhixian.exchange.models import Application, Call, Delivery, Disclosure, Grant, Subscription
from zhixian.platform import audit, outbound
from zhixian.platform.audit import AuditContext
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings

log = logging.getLogger(__name__)
BATCH = 100
HOLD = timedelta(minutes=1)
HEADER_DELIVERY = "X-ZX-Delivery-Id"
HEADER_SUBSCRIPTION = "X-ZX-Subscription-Id"
_CALLS = cast(Table, Call.__table__)
_DISCLOSURES = cast(Table, Disclosure.__table__)


@dataclass(frozen=True)
class Backoff:
    base: int = 30
    cap: int = 3600

    def delay(self, attempts: int) -> timedelta:
        """base, 2·base, 4·base … never more than cap (attempts counts the failures so far, from 1)."""
        return timedelta(seconds=min(self.cap, self.base * 2 ** min(attempts - 1, 30)))


# --- queueing


def enqueue(
    session: Session, *, cipher: FieldCipher, now: datetime, max_pending: int = 1000, batch: int = BATCH
) -> int:
    """New batches for every active subscription whose grant is live; returns how many."""
    feed.lock(session)
    today = local_today()
    made = 0
    subs = session.execute(
        select(Subscription, Grant)
        .join(Grant, Grant.id == Subscription.grant_id)
        .where(
            Subscription.status == "active",
            Grant.status == "active",
            Grant.valid_from <= today,
            Grant.valid_until >= today,
        )
        .order_by(Subscription.id)
    ).all()
    end = feed.last_seq(session)
    for sub, grant in subs:
        source = sources.load(session, sub.resource_id)
        if source is None or not source.servable or sub.position >= end:
            continue
        pending = int(
            session.execute(
                select(func.count()).where(Delivery.subscription_id == sub.id, Delivery.status == "pending")
            ).scalar_one()
        )
        while pending < max_pending and sub.position < end:
            found = sources.changed(
                session, source, cipher, list(grant.row_filter), after_seq=sub.position, upto_seq=end, limit=batch
            )
            upto = found[-1][0] if len(found) == batch else end
            if found:
                session.add(
                    Delivery(
                        subscription_id=sub.id,
                        number=sub.next_number,
                        after_seq=sub.position,
                        upto_seq=upto,
                        entries=len(found),
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
                sub.next_number += 1
                pending += 1
                made += 1
            sub.position = upto
    session.flush()
    return made


# --- claiming


def claim(session: Session, *, now: datetime, lease: timedelta, limit: int = 20) -> list[tuple[int, str]]:
    """Leases up to ``limit`` due batches, each the head of its subscription; (id, token) of each."""
    later = aliased(Delivery)
    head = (
        select(func.min(later.number))
        .where(later.subscription_id == Delivery.subscription_id, later.status == "pending")
        .scalar_subquery()
    )
    today = local_today()
    stmt = (
        select(Delivery.id)
        .join(Subscription, Subscription.id == Delivery.subscription_id)
        .join(Grant, Grant.id == Subscription.grant_id)
        .join(Application, Application.id == Subscription.application_id)
        .where(
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
            or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
            Delivery.number == head,
            Subscription.status == "active",
            Grant.status == "active",
            Grant.valid_from <= today,
            Grant.valid_until >= today,
            Application.status == "active",
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Delivery, skip_locked=True)
    ids = list(session.execute(stmt).scalars())
    if not ids:
        return []
    token = secrets.token_hex(8)
    session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(claimed_until=now + lease, claim_token=token))
    return [(i, token) for i in ids]


# --- one attempt


@dataclass
class Prepared:
    delivery_id: int
    token: str
    url: str
    body: bytes
    headers: dict[str, str]
    items: list[str] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)
    rows: int = 0
    subjects: list[tuple[str, str]] = field(default_factory=list)


def _held(session: Session, delivery_id: int, token: str) -> Delivery | None:
    row = session.get(Delivery, delivery_id)
    return row if row is not None and row.claim_token == token and row.status == "pending" else None


def prepare(
    session: Session, *, settings: Settings, cipher: FieldCipher, delivery_id: int, token: str, now: datetime
) -> Prepared | None:
    """The batch as it will be sent, or None (claim lost, or the grant no longer allows it: released)."""
    row = _held(session, delivery_id, token)
    if row is None:
        return None
    sub = session.get(Subscription, row.subscription_id)
    assert sub is not None
    application = session.get(Application, sub.application_id)
    assert application is not None
    today = local_today()
    live = [g for g in grants.usable(session, application, sub.resource_id, today) if g.id == sub.grant_id]
    source = sources.load(session, sub.resource_id)
    if not live or application.status != "active" or source is None or not source.servable:
        reason = grants.why_not(session, application, sub.resource_id, today) if not live else "应用已停用或资源已下线"
        row.claimed_until, sub.last_error = None, f"暂停推送：{reason}"[:300]
        row.next_attempt_at = now + HOLD  # looked at again later, not claimed again at once
        return None
    grant = live[0]
    items = [i for i in (sub.items or grant.items) if i in grant.items]
    batch = feed.read(
        session,
        settings=settings,
        cipher=cipher,
        source=source,
        grant=grant,
        items=items,
        after=row.after_seq,
        limit=max(row.entries, BATCH) * 4,
        upto=row.upto_seq,
    )
    payload = {
        "delivery_id": row.id,
        "subscription_id": sub.id,
        "number": row.number,
        "attempt": row.attempts + 1,
        "resource": {"id": source.resource_id, "code": source.code, "name": source.name},
        "changes": batch.changes,
        "cursor": feed.make_cursor(settings, application, source.resource_id, row.upto_seq),
        "masked": batch.masked,
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    stamp = str(int(now.timestamp()))
    parts = urlsplit(sub.callback_url)
    delivery = str(row.id)
    signature = signing.sign(
        apps.secret_of(cipher, application), "POST", parts.path or "/", parts.query, stamp, delivery, body
    )
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        HEADER_DELIVERY: delivery,
        HEADER_SUBSCRIPTION: str(sub.id),
        "X-ZX-Client-Id": application.client_id,
        "X-ZX-Timestamp": stamp,
        "X-ZX-Signature": signature,
    }
    return Prepared(
        row.id, token, sub.callback_url, body, headers, items, batch.masked, len(batch.changes), batch.subjects
    )


@dataclass
class Answer:
    status: int | None
    error: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def send(prepared: Prepared, *, policy: outbound.Policy, timeout: float) -> Answer:
    """One POST through the platform's outbound guard; any 2xx acknowledges the batch."""
    try:
        with outbound.http_client(policy, timeout=timeout) as client:
            resp = client.post(prepared.url, content=prepared.body, headers=prepared.headers)
    except outbound.Refused as exc:
        return Answer(None, f"推送地址不可用：{exc}")
    except httpx.TimeoutException:
        return Answer(None, f"接收方超时（超过 {timeout:g} 秒未应答）")
    except httpx.HTTPError as exc:
        return Answer(None, f"无法连接接收方：{type(exc).__name__}")
    if 200 <= resp.status_code < 300:
        return Answer(resp.status_code)
    return Answer(resp.status_code, f"接收方应答 HTTP {resp.status_code}")


def complete(
    session: Session, *, prepared: Prepared, answer: Answer, now: datetime, backoff: Backoff, duration_ms: int = 0
) -> bool:
    """Records the attempt; marks the batch delivered or due again later. True if delivered now."""
    row = session.get(Delivery, prepared.delivery_id)
    assert row is not None
    sub = session.get(Subscription, row.subscription_id)
    assert sub is not None
    row.call_id = _record(session, sub, row, prepared, answer, now, duration_ms)
    if row.claim_token != prepared.token or row.status != "pending":
        return False  # superseded or taken over meanwhile: the attempt is on record, the state is not ours
    row.last_status, row.claimed_until = answer.status, None
    if answer.acknowledged:
        row.status, row.delivered_at, row.last_error = "delivered", now, ""
        sub.delivered_number = max(sub.delivered_number, row.number)
        sub.last_delivered_at, sub.last_error = now, ""
        return True
    row.attempts += 1
    row.next_attempt_at = now + backoff.delay(row.attempts)
    row.last_error = sub.last_error = answer.error[:300]
    return False


def _record(
    session: Session,
    sub: Subscription,
    row: Delivery,
    prepared: Prepared,
    answer: Answer,
    now: datetime,
    duration_ms: int,
) -> int:
    """Every attempt sent data out of the node: a call row, its disclosures and one audit record."""
    application = session.get(Application, sub.application_id)
    grant = session.get(Grant, sub.grant_id)
    assert application is not None
    assert grant is not None
    result = "成功" if answer.acknowledged else "失败"
    values = {
        "at": now,
        "application_id": application.id,
        "client_id": application.client_id,
        "consumer_department_id": sub.consumer_department_id,
        "resource_id": sub.resource_id,
        "provider_department_id": sub.provider_department_id,
        "grant_id": grant.id,
        "operation": "push",
        "items": prepared.items,
        "rows": prepared.rows,
        "purpose": grant.purpose,
        "reason": f"订阅 {sub.id} 第 {row.number} 批",
        "status": answer.status or 0,
        "result": result,
        "error": answer.error[:300],
        "ip": "",
        "duration_ms": duration_ms,
    }
    call_id = int(session.execute(insert(_CALLS).returning(_CALLS.c.id), values).scalar_one())
    if prepared.subjects:
        session.execute(
            insert(_DISCLOSURES), [{"call_id": call_id, "kind": k, "subject": s} for k, s in prepared.subjects]
        )
    ctx = AuditContext(
        user_id=None, username=f"app:{application.client_id}"[:64], department_id=application.department_id, ip=""
    )
    audit.record(
        session,
        ctx,
        action="exchange.gateway.push",
        object_type="exchange_subscription",
        object_id=sub.id,
        result=result,
        detail={
            "call": call_id,
            "delivery": row.id,
            "number": row.number,
            "attempt": row.attempts + 1,
            "application": application.id,
            "grant": grant.id,
            "items": prepared.items,
            "masked": prepared.masked,
            "rows": prepared.rows,
            "subjects": len(prepared.subjects),
            "status": answer.status or 0,
            "error": answer.error[:300],
        },
    )
    return call_id
