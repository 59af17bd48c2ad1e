"""The one append-only audit log (等保 items 10-12).

Each record's hash is HMAC-SM3(audit key, previous hash || canonical record). The key lives in
the data directory, not the database, so someone with only database access can neither edit a
record nor re-chain the log after an edit. Appends happen inside the caller's transaction: if the
record cannot be written, the action it records is rolled back with it.

A chain's next link can only be written once the previous one is committed, so one chain makes
every writing transaction wait for the commit of the one before it. On PostgreSQL the log is
therefore kept as LANES interleaved chains: a transaction locks a free lane (the first one when
nothing else is writing) and keeps it until it ends. SQLite writes one transaction at a time and
only ever uses lane 0. Verification follows every lane.

The chain cannot show that its newest records were deleted; the heads of the lanes are therefore
anchored outside the database (see ``audit_anchor``, which also says which window stays open).
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Unavailable
from zhixian.platform import audit_anchor
from zhixian.platform.models import AuditRecord

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 7_274_001  # advisory lock class; the lane is the second key
LANES = 8
_LAST_HASH = (
    select(AuditRecord.hash).where(AuditRecord.lane == bindparam("lane")).order_by(AuditRecord.id.desc()).limit(1)
)
_TABLE = cast(Table, AuditRecord.__table__)
# a Core insert: the ORM's unit of work cost a sixth of a gateway call's CPU for this one row
_INSERT = insert(_TABLE).returning(_TABLE.c.id)
_PICK_LANE = text(
    "SELECT lane FROM generate_series(0, :n - 1) AS lane WHERE pg_try_advisory_xact_lock(:k, lane) LIMIT 1"
)


@dataclass(frozen=True)
class AuditContext:
    """Who acts and from where; built once per request by the auth layer."""

    user_id: int | None = None
    username: str = ""
    department_id: int | None = None
    ip: str = ""


SYSTEM = AuditContext(username="system")


def load_key(path: Path) -> bytes:
    """The chain key, created once beside the other node keys (never in the database)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())


def _key(session: Session) -> bytes:
    key = session.info.get("audit_key")
    if not isinstance(key, bytes):
        raise TypeError("audit key missing from the session (Database(info={'audit_key': ...}))")
    return key


_HASHED = ("user_id", "username", "department_id", "action", "object_type", "object_id", "result", "ip", "detail")


@dataclass(frozen=True)
class Appended:
    """A record appended in this transaction: what the commit-time anchor needs (``audit_anchor``)."""

    id: int
    lane: int
    hash: str


def _canonical(values: dict[str, Any]) -> bytes:
    payload = {name: values[name] for name in _HASHED}
    payload["at"] = values["at"].astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def _chain(key: bytes, prev_hash: str, values: dict[str, Any]) -> str:
    return hmac.new(key, prev_hash.encode() + b"|" + _canonical(values), "sm3").hexdigest()


def _stored(rec: AuditRecord) -> dict[str, Any]:
    """A stored record's hashed fields, as ``_chain`` reads them."""
    return {"at": rec.at, **{name: getattr(rec, name) for name in _HASHED}}


def record(
    session: Session,
    ctx: AuditContext,
    *,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    result: str = "成功",
    detail: dict[str, Any] | None = None,
) -> Appended:
    """Append one record in the caller's transaction (the caller's pending changes are flushed first, so
    what the record describes has its ids; the caller commits)."""
    session.flush()
    lane = _lane(session)
    prev = session.execute(_LAST_HASH, {"lane": lane}).scalar() or GENESIS
    values: dict[str, Any] = {
        "at": utcnow(),
        "user_id": ctx.user_id,
        "username": ctx.username,
        "department_id": ctx.department_id,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "result": result,
        "ip": ctx.ip,
        "detail": json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str)),
        "prev_hash": prev,
        "lane": lane,
    }
    values["hash"] = _chain(_key(session), prev, values)
    try:
        rec_id = int(session.execute(_INSERT, values).scalar_one())
    except SQLAlchemyError as exc:
        raise Unavailable("审计记录写入失败，操作已取消，请联系系统管理员") from exc
    appended = Appended(rec_id, lane, values["hash"])
    session.info.setdefault("audit_pending", []).append(appended)  # anchored at commit (audit_anchor)
    return appended


def _lane(session: Session) -> int:
    """The lane this transaction appends to, locked until it ends. Once chosen it is kept for the whole
    transaction, so a transaction never holds two lanes and two transactions cannot deadlock on them."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    transaction = session.get_transaction()
    held = session.info.get("audit_lane")
    if held is not None and held[0] is transaction:
        return int(held[1])
    lane = session.execute(_PICK_LANE, {"n": LANES, "k": _PG_AUDIT_LOCK}).scalar()
    if lane is None:  # every lane is busy: queue for one
        lane = secrets.randbelow(LANES)
        session.execute(text("SELECT pg_advisory_xact_lock(:k, :lane)"), {"k": _PG_AUDIT_LOCK, "lane": lane})
    session.info["audit_lane"] = (transaction, lane)
    return int(lane)


@dataclass
class VerifyResult:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_id: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _iter(session: Session) -> Iterator[AuditRecord]:
    yield from session.execute(select(AuditRecord).order_by(AuditRecord.id).execution_options(yield_per=2000)).scalars()


def verify(session: Session, *, stop_at_first: bool = True, checkpoint: bool = False) -> VerifyResult:
    """Walk every lane's chain; report the first record that was altered, inserted, or follows a deletion,
    and every anchored lane head that is gone (the log was cut short). With ``checkpoint``, a clean run
    anchors the heads it saw (only a command's own transaction, which wrote nothing, should ask)."""
    result = VerifyResult()
    key = _key(session)
    anchor = session.info.get("audit_anchor")
    # read before the walk: every head anchored by now was committed before the walk's snapshot
    anchored = anchor.read() if isinstance(anchor, audit_anchor.Anchor) else None
    heads = anchored.heads if anchored else {}
    last: dict[int, tuple[str, int | None]] = {}
    counts: dict[int, int] = {}
    seen: set[int] = set()
    for rec in _iter(session):
        result.checked += 1
        counts[rec.lane] = counts.get(rec.lane, 0) + 1
        prev_hash, prev_id = last.get(rec.lane, (GENESIS, None))
        head = heads.get(rec.lane)
        if head is not None and head.id == rec.id:
            seen.add(rec.lane)
        else:
            head = None
        problem = None
        if rec.prev_hash != prev_hash:
            where = f"上一条（id={prev_id}）" if prev_id is not None else "链首"
            problem = f"id={rec.id} 的前序哈希与{where}不符：其间有记录被删除或插入"
        elif not hmac.compare_digest(_chain(key, rec.prev_hash, _stored(rec)), rec.hash):
            problem = f"id={rec.id} 的内容与其哈希不符：记录被修改或伪造插入"
        elif head is not None:
            problem = _at_head(head, rec, counts[rec.lane])
        if problem:
            result.problems.append(problem)
            if result.first_bad_id is None:
                result.first_bad_id = rec.id
            if stop_at_first:
                return result
        last[rec.lane] = (rec.hash, rec.id)
    tails = {lane: (counts.get(lane, 0), last.get(lane, (GENESIS, None))[1]) for lane in heads}
    _check_anchor(result, anchor, anchored, tails, seen)
    if checkpoint and result.ok:
        audit_anchor.anchor_now(session, kind="checkpoint")
    return result


def _check_anchor(
    result: VerifyResult,
    anchor: object,
    anchored: audit_anchor.Read | None,
    tails: dict[int, tuple[int, int | None]],
    seen: set[int],
) -> None:
    """After the walk: anchored heads that never came up (the log was cut short), and the anchor's own state."""
    if anchored is None:
        return
    for lane, head in sorted(anchored.heads.items()):
        if lane not in seen:
            result.problems.append(_cut_short(head, *tails[lane]))
    for head in anchored.lost:
        result.problems.append(
            f"第 {head.lane} 道已锚定的记录 id={head.lost} 在之后更新锚点时已不存在或被替换："
            "其后的审计记录曾被删除（id 可能已被新记录重用）"
        )
    if anchored.bad_lines:
        lines = "、".join(str(n) for n in anchored.bad_lines[:5])
        path = anchor.path if isinstance(anchor, audit_anchor.Anchor) else "audit.anchor"
        result.problems.append(f"审计锚点文件 {path} 第 {lines} 行签名无效：锚点文件被篡改")
    if not anchored.exists and result.checked:
        result.notes.append("尚无审计锚点文件（升级前的数据）：末尾删除从本次检查点起才能发现")


def _at_head(head: audit_anchor.Head, rec: AuditRecord, position: int) -> str | None:
    if not hmac.compare_digest(head.hash, rec.hash):
        return f"id={rec.id} 与审计锚点记录的哈希不符：记录被替换"
    if position < head.n:
        return (
            f"第 {head.lane} 道在 id={rec.id} 之前缺失 {head.n - position} 条记录（锚点记录该道到此应有 {head.n} 条）"
        )
    if position > head.n:
        return (
            f"第 {head.lane} 道在 id={rec.id} 之前多出 {position - head.n} 条记录（锚点记录该道到此应有 {head.n} 条）"
        )
    return None


def _cut_short(head: audit_anchor.Head, remaining: int, last_id: int | None) -> str:
    missing = f"至少 {head.n - remaining} 条" if head.n > remaining else "若干条"
    if last_id is None:
        return (
            f"审计日志被整体删除：第 {head.lane} 道已无任何记录，锚点记录该道至少有 {head.n} 条"
            f"（最后一条 id={head.id}），缺失{missing}"
        )
    return (
        f"审计日志末尾被删除：第 {head.lane} 道锚定的记录 id={head.id}（该道第 {head.n} 条）已不存在；"
        f"该道现存 {remaining} 条，在 id={last_id} 之后缺失{missing}记录"
    )


@dataclass(frozen=True)
class AuditFilter:
    username: str = ""
    action: str = ""
    result: str = ""
    object_type: str = ""
    start: datetime | None = None
    end: datetime | None = None


def search(session: Session, *, flt: AuditFilter, offset: int = 0, limit: int = 50) -> tuple[list[AuditRecord], int]:
    """Newest first; counting is capped so a filter over years of records stays fast."""
    from sqlalchemy import func

    query = select(AuditRecord)
    if flt.username:
        query = query.where(AuditRecord.username == flt.username)
    if flt.action:
        query = query.where(AuditRecord.action == flt.action)
    if flt.result:
        query = query.where(AuditRecord.result == flt.result)
    if flt.object_type:
        query = query.where(AuditRecord.object_type == flt.object_type)
    if flt.start:
        query = query.where(AuditRecord.at >= flt.start)
    if flt.end:
        query = query.where(AuditRecord.at < flt.end)
    capped = query.with_only_columns(AuditRecord.id).limit(100_000).subquery()
    total = session.execute(select(func.count()).select_from(capped)).scalar_one()
    rows = session.execute(query.order_by(AuditRecord.id.desc()).offset(offset).limit(limit)).scalars().all()
    return list(rows), total


def iter_filtered(session: Session, *, flt: AuditFilter) -> Iterator[AuditRecord]:
    rows, _ = search(session, flt=flt, limit=1_000_000)
    yield from rows
