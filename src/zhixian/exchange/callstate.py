"""What one gateway call must know before its work, read in one statement: the application (status,
IP allow-list, secret, limits), the resource's catalogue stamp, this application's live grants on the
resource and its two rate counters.

Nothing here is cached, so a disabled application, a rotated secret or a suspended, revoked or expired
grant takes effect on the very next call, in every worker; the one statement replaces the four or five
round trips (and ORM loads) that each of those reads used to cost (issue 10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from zhixian.exchange import sources
from zhixian.exchange.models import Application, Grant, RateCounter

_APPS = cast(Table, Application.__table__)
_GRANTS = cast(Table, Grant.__table__)
_RATES = cast(Table, RateCounter.__table__)
_APP_KEYS = [(c.key, f"a_{c.key}") for c in _APPS.c]
_GRANT_KEYS = [(c.key, f"g_{c.key}") for c in _GRANTS.c]


@dataclass
class CallState:
    application: Application | None
    stamp: tuple[Any, ...] | None = None  # the resource's catalogue stamp; None when there is no such resource
    grants: list[Grant] = field(default_factory=list)  # live for this application and resource, newest first
    minute_calls: int = 0
    day_calls: int = 0


def _counter(bucket: str) -> Any:
    return (
        select(_RATES.c.calls)
        .where(_RATES.c.application_id == _APPS.c.id, _RATES.c.bucket == bindparam(bucket))
        .scalar_subquery()
    )


def _statement() -> Any:
    rid: Any = bindparam("rid")
    today = bindparam("today", type_=_GRANTS.c.valid_from.type)
    table, stamp = sources.stamp_columns()
    live = and_(
        _GRANTS.c.resource_id == rid,
        _GRANTS.c.consumer_department_id == _APPS.c.department_id,
        or_(_GRANTS.c.application_id.is_(None), _GRANTS.c.application_id == _APPS.c.id),
        _GRANTS.c.status == "active",
        _GRANTS.c.valid_from <= today,
        _GRANTS.c.valid_until >= today,
    )
    return (
        select(
            *(_APPS.c[k].label(name) for k, name in _APP_KEYS),
            *(c.label(f"r_{i}") for i, c in enumerate(stamp)),
            _counter("m").label("m_calls"),
            _counter("d").label("d_calls"),
            *(_GRANTS.c[k].label(name) for k, name in _GRANT_KEYS),
        )
        .select_from(_APPS.outerjoin(table, table.c.id == rid).outerjoin(_GRANTS, live))
        .where(_APPS.c.client_id == bindparam("cid"))
        .order_by(_GRANTS.c.id.desc())
    )


_READ = _statement()


def read(session: Session, *, client_id: str, resource_id: int | None, minute: str, day: str, today: date) -> CallState:
    """The call's state; ``application`` is None for an unknown client id. The objects are transient
    copies (never added to the session): the gateway only reads them."""
    params = {"cid": client_id, "rid": resource_id or 0, "m": minute, "d": day, "today": today}
    rows = session.execute(_READ, params).mappings().all()
    if not rows:
        return CallState(None)
    first = rows[0]
    app = Application(**{k: first[name] for k, name in _APP_KEYS})
    stamp = tuple(first[f"r_{i}"] for i in range(3)) if first["r_0"] is not None else None
    grants = [Grant(**{k: r[name] for k, name in _GRANT_KEYS}) for r in rows if r["g_id"] is not None]
    return CallState(app, stamp, grants, int(first["m_calls"] or 0), int(first["d_calls"] or 0))
