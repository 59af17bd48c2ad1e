"""Subscriptions: a consumer application asks for a granted resource's changes to be pushed to its URL.

The consumer department manages them (create, pause, resume, cancel, replay from a cursor); the
provider department sees them, with their outbox and failures, as the consumer does. A subscription
rides on its grant: while the grant is suspended, revoked or expired nothing is queued or sent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from zhixian.clock import local_today, utcnow
from zhixian.errors import Invalid, NotFound, NotPermitted
from zhixian.exchange import apps, feed, grants, sources
from zhixian.exchange.feed_schemas import Backlog, DeliveryRead, SubscriptionIn, SubscriptionRead
from zhixian.exchange.models import Application, Delivery, FeedEntry, Grant, Subscription
from zhixian.platform import audit, outbound
from zhixian.platform.actor import Actor
from zhixian.settings import Settings

STATUS_LABELS = {"active": "推送中", "paused": "已暂停", "cancelled": "已取消"}
DELIVERY_LABELS = {"pending": "待送达", "delivered": "已送达", "superseded": "已被重放取代"}
AUTHORITY = "exchange.authority"


def scope(actor: Actor) -> ColumnElement[bool]:
    """Consumer and provider departments (and their units) see a subscription; the authority sees all."""
    if actor.can(AUTHORITY) and actor.county_scope:
        return Subscription.id.is_not(None)
    own = grants.own_departments(actor)
    return or_(Subscription.consumer_department_id.in_(own), Subscription.provider_department_id.in_(own))


def create(session: Session, *, actor: Actor, settings: Settings, data: SubscriptionIn) -> Subscription:
    actor.require("exchange.request")
    application = apps.get_application(session, actor=actor, application_id=data.application_id)
    if not grants.is_own(session, actor, application.department_id):
        raise NotPermitted("只能为本部门（含下属单位）的应用订阅")
    if application.status != "active":
        raise Invalid("该应用已停用，不能订阅", field="application_id")
    grant = session.get(Grant, data.grant_id)
    if (
        grant is None
        or grant.consumer_department_id != application.department_id
        or grant.application_id not in (None, application.id)
    ):
        raise NotFound("授权不存在或不属于该应用")
    if grants.state(grant) != "active":
        raise Invalid(f"该授权当前{grants.state_label(grants.state(grant))}，不能订阅", field="grant_id")
    if "query" not in grant.operations:
        raise Invalid("订阅变更需要授权包含“条件查询”", field="grant_id")
    source = sources.load(session, grant.resource_id)
    if source is None or not source.servable:
        raise Invalid("该资源不通过共享网关提供，不能订阅", field="grant_id")
    outside = [i for i in data.items or [] if i not in grant.items]
    if outside:
        raise Invalid(f"未获授权的信息项：{'、'.join(outside)}", field="items")
    check_url(data.callback_url, settings)
    now = utcnow()
    row = Subscription(
        application_id=application.id,
        grant_id=grant.id,
        resource_id=grant.resource_id,
        consumer_department_id=application.department_id,
        provider_department_id=grant.provider_department_id,
        callback_url=data.callback_url,
        items=data.items or [],
        status="active",
        position=feed.last_seq(session) if data.start == "now" else 0,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    _audit(session, actor, row, "exchange.subscription_create", url=row.callback_url, start=data.start)
    return row


def check_url(url: str, settings: Settings) -> None:
    """The platform's outbound rules (no loopback, link-local or this server unless allow-listed)."""
    try:
        outbound.check_url(url, outbound.Policy.of(settings))
    except outbound.Refused as exc:
        raise Invalid(f"推送地址不可用：{exc}", field="callback_url") from None


def _audit(session: Session, actor: Actor, row: Subscription, action: str, **detail: Any) -> None:
    audit.record(
        session,
        actor.audit,
        action=action,
        object_type="exchange_subscription",
        object_id=row.id,
        detail={"subscription": row.id, "grant": row.grant_id, "application": row.application_id, **detail},
    )


def list_subscriptions(session: Session, *, actor: Actor, box: str = "all") -> list[Subscription]:
    actor.require("exchange.view")
    stmt = select(Subscription).where(scope(actor))
    own = grants.own_departments(actor)
    if box == "mine":
        stmt = stmt.where(Subscription.consumer_department_id.in_(own))
    elif box == "provided":
        stmt = stmt.where(Subscription.provider_department_id.in_(own))
    return list(session.execute(stmt.order_by(Subscription.id.desc()).limit(500)).scalars())


def get(session: Session, *, actor: Actor, subscription_id: int) -> Subscription:
    actor.require("exchange.view")
    row = session.execute(
        select(Subscription).where(Subscription.id == subscription_id, scope(actor))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("订阅不存在或无权查看")
    return row


def can_manage(session: Session, actor: Actor, row: Subscription) -> bool:
    return actor.can("exchange.request") and grants.is_own(session, actor, row.consumer_department_id)


def _manage(session: Session, actor: Actor, subscription_id: int) -> Subscription:
    row = get(session, actor=actor, subscription_id=subscription_id)
    if not can_manage(session, actor, row):
        raise NotPermitted("只有订阅方部门可以管理该订阅")
    return row


def set_status(session: Session, *, actor: Actor, subscription_id: int, status: str) -> Subscription:
    """pause / resume / cancel (a cancelled subscription stays, with its deliveries, for the record)."""
    row = _manage(session, actor, subscription_id)
    allowed = {"paused": ("active",), "active": ("paused",), "cancelled": ("active", "paused")}
    if row.status not in allowed[status]:
        raise Invalid(f"订阅当前{STATUS_LABELS[row.status]}，不能改为{STATUS_LABELS[status]}")
    row.status, row.updated_at = status, utcnow()
    action = {"paused": "exchange.subscription_pause", "active": "exchange.subscription_resume"}.get(
        status, "exchange.subscription_cancel"
    )
    _audit(session, actor, row, action)
    return row


def replay(session: Session, *, actor: Actor, settings: Settings, subscription_id: int, cursor: str) -> int:
    """Pushes again from ``cursor``: waiting deliveries are superseded (one already being sent finishes
    first, so order still holds) and the outbox is refilled from there. Returns the superseded count."""
    row = _manage(session, actor, subscription_id)
    application = session.get(Application, row.application_id)
    assert application is not None
    seq = feed.read_cursor(settings, application, row.resource_id, cursor)
    now = utcnow()
    feed.lock(session)  # the enqueue job must not refill between the two statements
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.subscription_id == row.id,
            Delivery.status == "pending",
            or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
        )
        .values(status="superseded", claimed_until=None)
    )
    row.position, row.updated_at = seq, now
    superseded = int(result.rowcount or 0)  # type: ignore[attr-defined]
    _audit(session, actor, row, "exchange.subscription_replay", position=seq, superseded=superseded)
    return superseded


def backlog(session: Session, row: Subscription) -> Backlog:
    pending, failing, oldest, nxt = session.execute(
        select(
            func.count(),
            func.count().filter(Delivery.attempts > 0),
            func.min(Delivery.created_at),
            func.min(Delivery.next_attempt_at),
        ).where(Delivery.subscription_id == row.id, Delivery.status == "pending")
    ).one()
    source = sources.load(session, row.resource_id)
    unqueued = 0
    if source is not None:
        inner = select(FeedEntry.id).where(FeedEntry.kind == source.kind, FeedEntry.id > row.position)
        if source.kind == "record":
            inner = inner.where(FeedEntry.resource_id == source.resource_id)
        unqueued = int(session.execute(select(func.count()).select_from(inner.limit(100_001).subquery())).scalar_one())
    return Backlog(
        pending=int(pending), failing=int(failing), oldest_pending_at=oldest, next_attempt_at=nxt, unqueued=unqueued
    )


def read(session: Session, row: Subscription) -> SubscriptionRead:
    out = SubscriptionRead.model_validate(row)
    application = session.get(Application, row.application_id)
    grant = session.get(Grant, row.grant_id)
    out.application_name = application.name if application else ""
    out.resource_name = grant.resource_name if grant else ""
    out.status_label = STATUS_LABELS.get(row.status, row.status)
    if grant is not None:
        out.grant_state = grants.state_label(grants.state(grant, local_today()))
    out.backlog = backlog(session, row)
    return out


def deliveries(
    session: Session, *, actor: Actor, subscription_id: int, status: str = "", offset: int = 0, limit: int = 50
) -> tuple[list[Delivery], int]:
    row = get(session, actor=actor, subscription_id=subscription_id)
    stmt = select(Delivery).where(Delivery.subscription_id == row.id)
    if status:
        stmt = stmt.where(Delivery.status == status)
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    rows = session.execute(stmt.order_by(Delivery.number.desc()).offset(offset).limit(limit)).scalars()
    return list(rows), total


def delivery_read(row: Delivery) -> DeliveryRead:
    out = DeliveryRead.model_validate(row)
    out.status_label = DELIVERY_LABELS.get(row.status, row.status)
    return out


def subscribable(session: Session, *, actor: Actor) -> tuple[list[Application], list[Grant]]:
    """The actor's department's active applications and the live grants they could subscribe with."""
    own = [a for a in apps.list_applications(session, actor=actor) if a.status == "active"]
    own = [a for a in own if grants.is_own(session, actor, a.department_id)]
    today = local_today()
    found: dict[int, Grant] = {}
    for application in own:
        for grant in grants.applications_granted(session, application, today):
            if "query" in grant.operations:
                found[grant.id] = grant
    return own, sorted(found.values(), key=lambda g: g.id)
