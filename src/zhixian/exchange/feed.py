"""The change feed: which shared rows changed, in one stable order, and the gateway's ``changes`` call.

Integration keeps the values an update replaced (``integration_change``) but writes nothing for a new
row, and its ids follow allocation, not commit, on PostgreSQL. So the feed keeps its own log: a sweep
(a job, one sweeper at a time under a lock) appends an entry for every row version (its
``updated_at``) not yet logged, looking again at rows updated within ``LAG`` of the last sweep, which
covers a load batch committed a little after it stamped its rows. Entry ids are then commit order,
and a consumer resumes from the last one it saw, through a signed cursor like the query's.
A change delivers the row as it is now (masked per grant), not a diff: consumers upsert it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import Field
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from zhixian.exchange import records, signing, sources, views
from zhixian.exchange.models import Application, FeedEntry, FeedSweep, Grant
from zhixian.exchange.operations import BadCursor, Context, Result, granted_items
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.schemas import Input
from zhixian.settings import Settings

LAG = timedelta(minutes=10)
SWEEP_LIMIT = 50_000
_LOCK_KEY = 0x7A78_6665  # "zxfe": the one feed writer on PostgreSQL (SQLite has one writer anyway)
_ENTRIES = cast(Table, FeedEntry.__table__)


class ChangesIn(Input):
    cursor: str | None = Field(
        default=None, max_length=2000, description="上一页或上一次推送给出的游标；为空时从头开始"
    )
    from_latest: bool = Field(
        default=False,
        description="只取得当前末尾的游标，不返回变更（用条件查询取得全量之后）",
    )
    page_size: int = Field(default=50, ge=1, le=1000, description="每页条数")
    items: list[str] | None = Field(
        default=None, max_length=200, description="要返回的信息项；为空时返回全部已授权信息项"
    )
    reason: str = Field(default="", max_length=200, description="调用事由（如业务编号），记入审计")


def lock(session: Session) -> None:
    """Serialises feed writers (the sweep and the outbox's enqueue) until this transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def sweep(session: Session, *, now: datetime, limit: int = SWEEP_LIMIT) -> int:
    """Appends an entry for every row version not yet in the feed; returns how many (a job, under ``lock``)."""
    lock(session)
    state = session.get(FeedSweep, 1)
    since = (state.swept_to if state is not None else now) - LAG
    swept_to, total = now, 0
    kinds: tuple[sources.Kind, ...] = ("person", "legal", "record")
    for kind in kinds:
        rows = sources.unlogged_versions(session, kind, since, limit)
        if rows:
            session.execute(
                insert(_ENTRIES),
                [
                    {"kind": kind, "resource_id": rid, "row_id": row_id, "row_updated_at": at, "logged_at": now}
                    for row_id, at, rid in rows
                ],
            )
            total += len(rows)
        if len(rows) == limit:  # the rest next time: look again from the last version logged
            swept_to = min(swept_to, rows[-1][1] + LAG)
    if state is None:
        session.add(FeedSweep(id=1, swept_to=swept_to, entries=total))
    else:
        state.swept_to, state.entries = swept_to, state.entries + total
    session.flush()
    return total


def last_seq(session: Session) -> int:
    return int(session.execute(select(func.coalesce(func.max(FeedEntry.id), 0))).scalar_one())


# --- cursors


def make_cursor(settings: Settings, application: Application, resource_id: int, seq: int) -> str:
    key = signing.cursor_key(settings.effective_secret_key)
    return signing.make_cursor(key, {"c": "feed", "r": resource_id, "a": application.id, "s": seq})


def read_cursor(settings: Settings, application: Application, resource_id: int, cursor: str) -> int:
    """The feed position of a cursor this node gave this application for this resource, else a 400."""
    payload = signing.read_cursor(signing.cursor_key(settings.effective_secret_key), cursor)
    if payload is None:
        raise BadCursor("游标无效或已被篡改，请使用变更接口或推送给出的 cursor")
    if payload.get("c") != "feed":
        raise BadCursor("该游标属于条件查询，不能用于变更订阅")
    if payload.get("r") != resource_id or payload.get("a") != application.id:
        raise BadCursor("游标不属于本应用对该资源的变更订阅")
    seq = payload.get("s")
    if not isinstance(seq, int) or seq < 0:
        raise BadCursor("游标无效或已被篡改，请使用变更接口或推送给出的 cursor")
    return seq


# --- reading changes


@dataclass
class Batch:
    """Changes of one page: rendered records with their entry numbers, and what the audit needs."""

    changes: list[dict[str, Any]]
    items: list[str]
    masked: list[str]
    subjects: list[tuple[str, str]]
    position: int  # the feed position after this page
    more: bool


def read(
    session: Session,
    *,
    settings: Settings,
    cipher: FieldCipher,
    source: sources.Source,
    grant: Grant,
    items: list[str],
    after: int,
    limit: int,
    upto: int | None = None,
) -> Batch:
    """The granted rows changed after ``after`` (up to ``upto``, default the end now), within the grant's
    row filter, masked per grant. The end is read first: an entry committed meanwhile is not skipped."""
    end = last_seq(session) if upto is None else upto
    found = sources.changed(
        session, source, cipher, list(grant.row_filter), after_seq=after, upto_seq=end, limit=limit + 1
    )
    more = len(found) > limit
    found = found[:limit]
    plain = set(grant.plain_items)
    changes = [
        {"seq": seq, "op": "upsert", "record": views.record(source, row, items, plain, cipher, settings)}
        for seq, row in found
    ]
    position = found[-1][0] if more else max(end, after)
    masked = sorted(views.masked_fields(source, items, grant.plain_items, settings))
    subjects = [records.subject(source, row, cipher) for _, row in found]
    return Batch(changes, items, masked, subjects, position, more)


def changes(ctx: Context, body: ChangesIn) -> Result:
    """The gateway's ``changes`` operation (a grant allowing 条件查询 allows it)."""
    items = granted_items(ctx.grant, body.items)
    resource = {"id": ctx.source.resource_id, "code": ctx.source.code, "name": ctx.source.name}
    if body.from_latest:
        end = last_seq(ctx.session)
        cursor = make_cursor(ctx.settings, ctx.application, ctx.source.resource_id, end)
        return Result(
            body={"resource": resource, "changes": [], "next_cursor": cursor, "more": False, "masked": []},
            items=[],
            masked=[],
            reason=body.reason,
        )
    after = read_cursor(ctx.settings, ctx.application, ctx.source.resource_id, body.cursor) if body.cursor else 0
    batch = read(
        ctx.session,
        settings=ctx.settings,
        cipher=ctx.cipher,
        source=ctx.source,
        grant=ctx.grant,
        items=items,
        after=after,
        limit=body.page_size,
    )
    return Result(
        body={
            "resource": resource,
            "changes": batch.changes,
            "next_cursor": make_cursor(ctx.settings, ctx.application, ctx.source.resource_id, batch.position),
            "more": batch.more,
            "masked": batch.masked,
        },
        items=items,
        masked=batch.masked,
        rows=len(batch.changes),
        subjects=batch.subjects,
        reason=body.reason,
    )
