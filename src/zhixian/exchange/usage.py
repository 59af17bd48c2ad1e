"""Usage transparency: who called whose data, how much and why; the county's sharing statistics; and,
for one person, which departments read their record and for what (the basis of "who used my data").

Figures come from the call index (``exchange_call``), each one with the filter that lists its calls,
so every number on a page opens the records behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from zhixian.clock import LOCAL_TZ, local_today, utcnow
from zhixian.errors import Invalid
from zhixian.exchange import operations, policy, records, sources
from zhixian.exchange.models import Application, Call, Disclosure, Grant, ShareRequest
from zhixian.exchange.requests import is_authority
from zhixian.exchange.settings import ANSWER_DAYS, CHECK_DAYS, DISPUTE_DAYS
from zhixian.platform import audit, masking
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.models import Department
from zhixian.settings import Settings


@dataclass
class CallFilter:
    application_id: int | None = None
    resource_id: int | None = None
    consumer_department_id: int | None = None
    provider_department_id: int | None = None
    grant_id: int | None = None
    operation: str = ""
    result: str = ""
    purpose: str = ""
    since: datetime | None = None
    until: datetime | None = None
    side: str = ""  # consumer | provider: only the actor's department on that side
    via: str = ""  # app: calls signed by an application | department: a department's own reads (办事预填)
    node: str = ""  # calls that crossed to or from this peer node (federation)

    def query_string(self) -> str:
        from urllib.parse import urlencode

        pairs = {k: v for k, v in self.__dict__.items() if v not in (None, "")}
        for k in ("since", "until"):
            if k in pairs:
                pairs[k] = pairs[k].astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")
        return urlencode(pairs)


def _aware(moment: datetime) -> datetime:
    """A time typed without a zone is Beijing time (fields.Moment)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL_TZ)


def _own(actor: Actor) -> Select[int]:
    return select(Department.id).where(actor.department_filter(Department.path))


def call_scope(actor: Actor) -> ColumnElement[bool]:
    """A department sees calls made by its applications and calls on the resources it provides."""
    if is_authority(actor):
        return Call.id.is_not(None)
    own = _own(actor)
    return or_(Call.consumer_department_id.in_(own), Call.provider_department_id.in_(own))


def _filtered(actor: Actor, flt: CallFilter) -> Select[Any]:
    stmt = select(Call).where(call_scope(actor))
    for column, value in (
        (Call.application_id, flt.application_id),
        (Call.resource_id, flt.resource_id),
        (Call.consumer_department_id, flt.consumer_department_id),
        (Call.provider_department_id, flt.provider_department_id),
        (Call.grant_id, flt.grant_id),
        (Call.operation, flt.operation or None),
        (Call.result, flt.result or None),
        (Call.purpose, flt.purpose or None),
        (Call.node, flt.node or None),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if flt.via == "app":
        stmt = stmt.where(Call.application_id.is_not(None))
    elif flt.via == "department":
        stmt = stmt.where(Call.application_id.is_(None))
    if flt.since:
        stmt = stmt.where(Call.at >= _aware(flt.since))
    if flt.until:
        stmt = stmt.where(Call.at < _aware(flt.until))
    if flt.side == "consumer":
        stmt = stmt.where(Call.consumer_department_id.in_(_own(actor)))
    elif flt.side == "provider":
        stmt = stmt.where(Call.provider_department_id.in_(_own(actor)))
    return stmt


def list_calls(
    session: Session, *, actor: Actor, flt: CallFilter, offset: int = 0, limit: int = 50
) -> tuple[list[Call], int]:
    actor.require("exchange.view")
    stmt = _filtered(actor, flt)
    capped = stmt.with_only_columns(Call.id).limit(100_000).subquery()
    total = session.execute(select(func.count()).select_from(capped)).scalar_one()
    rows = session.execute(stmt.order_by(Call.id.desc()).offset(offset).limit(limit)).scalars()
    return list(rows), int(total)


def names(session: Session) -> dict[str, dict[int, str]]:
    """Department, application and resource names for lists of calls."""
    return {
        "departments": dict(session.execute(select(Department.id, Department.name)).all()),
        "applications": dict(session.execute(select(Application.id, Application.name)).all()),
        "resources": {r[0]: r[2] for r in sources.published(session)},
    }


def window_start(days: int) -> datetime:
    """The start of a "last N days" window, to the minute: the links it makes carry the same instant."""
    return (utcnow() - timedelta(days=days)).replace(second=0, microsecond=0)


def usage_table(session: Session, *, actor: Actor, side: str, days: int = 30) -> list[dict[str, Any]]:
    """Provider side: who uses our data (department, application, resource, grant and its purpose);
    consumer side: what our applications used. Calls refused before a grant applied used no data and are
    left out here (the call list shows them). Each row carries the call-list filter that opens it."""
    actor.require("exchange.view")
    since = window_start(days)
    own = _own(actor)
    column = Call.provider_department_id if side == "provider" else Call.consumer_department_id
    everyone = side == "county" and is_authority(actor)
    keys = (
        Call.consumer_department_id,
        Call.application_id,
        Call.resource_id,
        Call.grant_id,
        Call.purpose,
        Call.node,
        Call.node_name,
    )
    stmt = (
        select(
            *keys,
            func.count(),
            func.sum(Call.rows),
            func.sum(case((Call.result != "成功", 1), else_=0)),
            func.max(Call.at),
        )
        .where(Call.id.is_not(None) if everyone else column.in_(own))
        # a federated call used data under a federated grant (not a local one): the node names it
        .where(Call.at >= since, or_(Call.grant_id.is_not(None), Call.node != ""))
        .group_by(*keys)
        .order_by(func.count().desc())
        .limit(200)
    )
    out = []
    rows_ = session.execute(stmt).all()
    for dept, app, resource, grant, purpose, node, node_name, calls, rows, failed, last in rows_:
        flt = CallFilter(
            consumer_department_id=dept,
            application_id=app,
            resource_id=resource,
            grant_id=grant,
            since=since,
            side=side if side in ("provider", "consumer") else "",
            via="app" if app is not None else "department",
            node=node,
            purpose=purpose if node else "",  # a node's calls have no local grant: its purpose tells them apart
        )
        out.append(
            {
                "consumer_department_id": dept,
                "application_id": app,
                "resource_id": resource,
                "grant_id": grant,
                "purpose": purpose,
                "node": node,
                "node_name": node_name,
                "calls": int(calls),
                "rows": int(rows or 0),
                "refused": int(failed or 0),
                "last_at": last,
                "href": "/exchange/calls?" + flt.query_string(),
            }
        )
    return out


def daily_calls(session: Session, *, actor: Actor, side: str, days: int = 30) -> list[dict[str, Any]]:
    """Calls per Beijing day for the chart; each bar opens that day's calls."""
    since = window_start(days)
    stmt = _filtered(actor, CallFilter(since=since, side=side if side in ("provider", "consumer") else ""))
    times = session.execute(stmt.with_only_columns(Call.at)).scalars()
    counts: dict[str, int] = {}
    for at in times:
        key = at.astimezone(LOCAL_TZ).date().isoformat()
        counts[key] = counts.get(key, 0) + 1
    out = []
    today = local_today()
    for i in range(days - 1, -1, -1):
        day = today - timedelta(days=i)
        start = datetime.combine(day, datetime.min.time(), tzinfo=LOCAL_TZ)
        flt = CallFilter(since=start, until=start + timedelta(days=1), side=side if side != "county" else "")
        out.append(
            {
                "day": day.isoformat(),
                "calls": counts.get(day.isoformat(), 0),
                "href": "/exchange/calls?" + flt.query_string(),
            }
        )
    return out


def statistics(session: Session, *, actor: Actor, settings: Settings, days: int = 365) -> dict[str, Any]:
    """What the data authority reports upward: requests, answer times against the limits, calls, top
    resources and consumers, grants about to expire. Every figure with the link that lists it."""
    actor.require("exchange.stats")
    since = window_start(days)
    today = local_today()
    by_status = dict(
        session.execute(
            select(ShareRequest.status, func.count())
            .where(ShareRequest.created_at >= since)
            .group_by(ShareRequest.status)
        ).all()
    )
    by_type = dict(
        session.execute(
            select(ShareRequest.share_type, func.count())
            .where(ShareRequest.created_at >= since)
            .group_by(ShareRequest.share_type)
        ).all()
    )
    day_seconds = (
        sum((int(e[:2]) * 60 + int(e[3:])) - (int(s[:2]) * 60 + int(s[3:])) for s, e in settings.work_periods) * 60
    )
    answered = session.execute(
        select(
            func.count(),
            func.avg(ShareRequest.answer_seconds),
            func.sum(case((ShareRequest.on_time.is_(True), 1), else_=0)),
        ).where(ShareRequest.created_at >= since, ShareRequest.answer_seconds.is_not(None))
    ).one()
    now = utcnow()
    overdue = session.execute(
        select(func.count()).where(ShareRequest.status.in_(policy.OPEN_STATUSES), ShareRequest.due_at <= now)
    ).scalar_one()
    calls = dict(session.execute(select(Call.result, func.count()).where(Call.at >= since).group_by(Call.result)).all())
    top_resources = session.execute(
        select(Call.resource_id, func.count(), func.sum(Call.rows))
        .where(Call.at >= since, Call.resource_id.is_not(None), Call.result == "成功")
        .group_by(Call.resource_id)
        .order_by(func.count().desc())
        .limit(10)
    ).all()
    top_consumers = session.execute(
        select(Call.consumer_department_id, func.count())
        .where(Call.at >= since, Call.consumer_department_id.is_not(None), Call.result == "成功")
        .group_by(Call.consumer_department_id)
        .order_by(func.count().desc())
        .limit(10)
    ).all()
    by_node = session.execute(
        select(Call.node, func.max(Call.node_name), func.count(), func.sum(Call.rows))
        .where(Call.at >= since, Call.node != "")
        .group_by(Call.node)
        .order_by(func.count().desc())
        .limit(20)
    ).all()
    live = and_(Grant.status == "active", Grant.valid_from <= today, Grant.valid_until >= today)
    grants_live = session.execute(select(func.count()).where(live)).scalar_one()
    expiring = session.execute(
        select(func.count()).where(live, Grant.valid_until <= today + timedelta(days=30))
    ).scalar_one()
    since_q = since.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")
    return {
        "since": since,
        "requests_href": f"/exchange/requests?box=all&since={since_q}",
        "requests": {k: int(v) for k, v in by_status.items()},
        "requests_total": int(sum(by_status.values())),
        "by_share_type": {k: int(v) for k, v in by_type.items()},
        "answered": int(answered[0] or 0),
        "avg_answer_days": round(float(answered[1] or 0) / day_seconds, 2) if day_seconds else 0.0,
        "on_time": int(answered[2] or 0),
        "on_time_rate": round(int(answered[2] or 0) / int(answered[0]), 3) if answered[0] else None,
        "overdue_open": int(overdue),
        "calls": {k: int(v) for k, v in calls.items()},
        "calls_total": int(sum(calls.values())),
        "calls_href": f"/exchange/calls?since={since_q}",
        "top_resources": [
            {
                "resource_id": r,
                "calls": int(c),
                "rows": int(n or 0),
                "href": f"/exchange/calls?resource_id={r}&result=成功",
            }
            for r, c, n in top_resources
        ],
        "top_consumers": [
            {
                "department_id": d,
                "calls": int(c),
                "href": f"/exchange/calls?consumer_department_id={d}&result=成功&since={since_q}",
            }
            for d, c in top_consumers
        ],
        "nodes": [
            {
                "node": n,
                "node_name": name or n,
                "calls": int(c),
                "rows": int(r or 0),
                "href": "/exchange/calls?" + CallFilter(node=n, since=since).query_string(),
            }
            for n, name, c, r in by_node
        ],
        "grants_live": int(grants_live),
        "grants_expiring": int(expiring),
        "limits": {
            "check": settings.declared(CHECK_DAYS),
            "answer": settings.declared(ANSWER_DAYS),
            "dispute": settings.declared(DISPUTE_DAYS),
        },
    }


def calls_about(session: Session, subject: str) -> list[dict[str, Any]]:
    """Each call that returned or checked the record filed under this blind index, newest first (≤ 1,000):
    the officer's person lookup and the citizen's own "who used my data" read the same rows."""
    rows = session.execute(
        select(Call)
        .join(Disclosure, Disclosure.call_id == Call.id)
        .where(Disclosure.subject == subject)
        .order_by(Call.at.desc(), Call.id.desc())
        .limit(1000)
    ).scalars()
    known = names(session)
    return [
        {
            "at": call.at,
            "department_name": known["departments"].get(call.consumer_department_id or 0, ""),
            "application_name": known["applications"].get(call.application_id or 0, ""),
            "resource_name": known["resources"].get(call.resource_id or 0, ""),
            "operation": policy.CALL_OPERATIONS.get(call.operation, call.operation),
            "purpose": call.purpose,
            "reason": call.reason,
            "result": call.result,
            "call_id": call.id,
        }
        for call in rows
    ]


def person_usage(
    session: Session, *, actor: Actor, cipher: FieldCipher, id_number: str, note: str = ""
) -> list[dict[str, Any]]:
    """For one person: each call that returned or checked their record — when, which department and
    application, which resource, for what purpose. The lookup itself is audited (without the number)."""
    actor.require("exchange.usage.person")
    person = sources.Source(0, "", "", "person", "id_number", 0, "人口", "", "", "", None, "", classified=False)
    try:
        key = operations.check_key(person, id_number)
    except Invalid as exc:
        raise Invalid(exc.detail, field="id_number") from None
    subject = records.subject_index(cipher, key)
    out = calls_about(session, subject)
    audit.record(
        session,
        actor.audit,
        action="exchange.person_usage.lookup",
        object_type="person",
        object_id=masking.id_number(key),
        detail={"count": len(out), "note": note[:500]},
    )
    return out


def expiring_grants(session: Session, *, actor: Actor, days: int = 30) -> list[Grant]:
    today = local_today()
    from zhixian.exchange import grants

    stmt = select(Grant).where(
        grants.scope(actor),
        Grant.status == "active",
        Grant.valid_until >= today,
        Grant.valid_until <= today + timedelta(days=days),
    )
    return list(session.execute(stmt.order_by(Grant.valid_until)).scalars())
