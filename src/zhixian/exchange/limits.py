"""Replay protection and rate limits that every worker and process shares: they live in the database.

A nonce is a row keyed by (application, nonce): inserting it twice conflicts, in one process or ten,
on SQLite or PostgreSQL. Calls are counted per application in a minute bucket and a (Beijing) day
bucket with one upsert that returns both counts, so the limit is exact across workers. The upsert is
the last statement before the audit record and the commit: on PostgreSQL it locks the counter row,
and the lock should be held as briefly as possible.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, create_engine, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from zhixian.clock import LOCAL_TZ
from zhixian.errors import TooManyRequests
from zhixian.exchange.models import Nonce, RateCounter

_NONCES = cast(Table, Nonce.__table__)
_RATES = cast(Table, RateCounter.__table__)
_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(session: Session, kind: str) -> Any:
    """The upserts, built once per dialect as Core statements with bind parameters (they run on every call)."""
    dialect = session.get_bind().dialect.name
    key = (dialect, kind)
    if key not in _STATEMENTS:
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        if kind == "nonce":
            stmt = make(_NONCES).values(
                application_id=bindparam("app"), nonce=bindparam("nonce"), expires_at=bindparam("exp")
            )
            _STATEMENTS[key] = stmt.on_conflict_do_update(
                index_elements=[_NONCES.c.application_id, _NONCES.c.nonce],
                set_={"expires_at": stmt.excluded.expires_at},
                # a long-expired nonce may be used again: its timestamp no longer would be
                where=_NONCES.c.expires_at < bindparam("now", type_=_NONCES.c.expires_at.type),
            ).returning(_NONCES.c.nonce)
        else:
            # written out: a multi-row VALUES with ON CONFLICT is not cached by SQLAlchemy, and compiling
            # it anew cost more than running it, on every call (same SQL on SQLite and PostgreSQL)
            expiry = _RATES.c.expires_at.type
            _STATEMENTS[key] = (
                text(
                    "INSERT INTO exchange_rate (application_id, bucket, calls, expires_at)"
                    " VALUES (:app, :m, 1, :m_exp), (:app, :d, 1, :d_exp)"
                    " ON CONFLICT (application_id, bucket) DO UPDATE SET calls = exchange_rate.calls + 1"
                    " RETURNING bucket, calls"
                )
                .bindparams(bindparam("m_exp", type_=expiry), bindparam("d_exp", type_=expiry))
                .columns(_RATES.c.bucket, _RATES.c.calls)
            )
    return _STATEMENTS[key]


def use_nonce(session: Session, *, application_id: int, nonce: str, now: datetime, ttl: timedelta) -> bool:
    """True the first time (application, nonce) is seen while it is live; False for a replay.

    RETURNING, not rowcount: PostgreSQL reports no rowcount for an upsert that updated nothing."""
    params = {"app": application_id, "nonce": nonce, "exp": now + ttl, "now": now}
    return session.execute(_statement(session, "nonce"), params).first() is not None


def buckets(now: datetime) -> tuple[str, str]:
    """The minute and day bucket names of ``now`` (read with the call's state)."""
    minute, _, day, _, _, _ = _buckets(now)
    return minute, day


def _buckets(now: datetime) -> tuple[str, datetime, str, datetime, int, int]:
    """The minute and day buckets of ``now`` with their expiry and the seconds until each ends."""
    epoch = now.timestamp()
    minute = math.floor(epoch // 60)
    local = now.astimezone(LOCAL_TZ)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL_TZ)
    to_minute = math.ceil((minute + 1) * 60 - epoch)
    to_midnight = math.ceil((midnight - local).total_seconds())
    return (
        f"m:{minute}",
        now + timedelta(minutes=2),
        f"d:{local.date().isoformat()}",
        midnight + timedelta(days=1),
        max(1, to_minute),
        max(1, to_midnight),
    )


def _refuse(per_minute: int, daily: int, minute_calls: int, day_calls: int, to_minute: int, to_midnight: int) -> None:
    if day_calls > daily:
        raise TooManyRequests(
            f"已用完本应用今日的调用配额（{daily} 次），请于 {to_midnight} 秒后（次日零时）再试", to_midnight
        )
    if minute_calls > per_minute:
        raise TooManyRequests(f"调用过于频繁：本应用每分钟最多 {per_minute} 次，请于 {to_minute} 秒后再试", to_minute)


_COUNTS = select(RateCounter.bucket, RateCounter.calls).where(
    RateCounter.application_id == bindparam("app"), RateCounter.bucket.in_((bindparam("m"), bindparam("d")))
)


_COUNTER_ENGINES: dict[str, Engine] = {}


def _counter_engine(engine: Engine) -> Engine:
    key = engine.url.render_as_string(hide_password=False)
    if key not in _COUNTER_ENGINES:
        # a counter's commit need not wait for its WAL flush: a crash can lose at most the last few counts
        # (the calls themselves are recorded in the call's own, durable transaction)
        _COUNTER_ENGINES[key] = create_engine(
            engine.url,
            pool_size=4,
            max_overflow=8,
            connect_args={"options": "-c synchronous_commit=off"},
        )  # no pre-ping (a round trip per call): a connection found dead is replaced and the count retried
    return _COUNTER_ENGINES[key]


def precheck(
    session: Session,
    *,
    application_id: int,
    per_minute: int,
    daily: int,
    now: datetime,
    counts: tuple[int, int] | None = None,
) -> None:
    """A cheap read before any work: a client that is already over its limit is turned away at once
    (``counts``: the minute's and the day's calls, when the caller read them already)."""
    minute, _, day, _, to_minute, to_midnight = _buckets(now)
    if counts is None:
        read = dict(session.execute(_COUNTS, {"app": application_id, "m": minute, "d": day}).all())
        counts = read.get(minute, 0), read.get(day, 0)
    _refuse(per_minute, daily, counts[0] + 1, counts[1] + 1, to_minute, to_midnight)


def _count_apart(engine: Engine, statement: Any, params: dict[str, Any]) -> dict[str, int]:
    """The upsert in its own transaction; once more on a fresh connection if the pooled one had died (a
    restarted server): nothing was counted on a connection that failed."""
    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                return {str(b): int(c) for b, c in conn.execute(statement, params).all()}
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def count_call(session: Session, *, application_id: int, per_minute: int, daily: int, now: datetime) -> int:
    """Counts this call in both buckets (one statement) and refuses it if either is now over; returns what
    is left of the minute's allowance."""
    minute, minute_expiry, day, day_expiry, to_minute, to_midnight = _buckets(now)
    params = {"app": application_id, "m": minute, "m_exp": minute_expiry, "d": day, "d_exp": day_expiry}
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        # its own short transaction on its own pool: the counter row is locked for the upsert alone, not
        # until the call's commit, so an application's concurrent calls do not queue behind each other's
        # fsync; a separate pool, so a request never waits for a second connection from its own pool
        counts = _count_apart(_counter_engine(bind), _statement(session, "rate"), params)
    else:  # SQLite runs one transaction at a time anyway; tests run inside one outer transaction
        counts = dict(session.execute(_statement(session, "rate"), params).all())
    _refuse(per_minute, daily, counts.get(minute, 0), counts.get(day, 0), to_minute, to_midnight)
    return max(0, per_minute - int(counts.get(minute, 0)))


def purge(session: Session, now: datetime) -> tuple[int, int]:
    """Drops nonces and counters that can no longer matter (a job)."""
    nonces = session.execute(delete(Nonce).where(Nonce.expires_at < now)).rowcount  # type: ignore[attr-defined]
    counters = session.execute(delete(RateCounter).where(RateCounter.expires_at < now)).rowcount  # type: ignore[attr-defined]
    return int(nonces or 0), int(counters or 0)
