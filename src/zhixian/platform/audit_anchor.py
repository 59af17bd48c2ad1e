"""The audit chain's anchor outside the database: signed lane heads in ``<data_dir>/keys/audit.anchor``.

A hash chain alone cannot show that its *newest* records were removed: what is left still chains.
So, like X-Road time-stamping its message log, the head of every lane (the last record's id and
hash, and how many records the lane holds up to it) is written, HMAC-SM3 with the audit key, to an
append-only file kept with the keys, where someone with only database access can neither read
the key nor rewrite the file. ``audit.verify`` then requires every anchored head to still be in the
database at the anchored position, so truncation, deletion of everything since a time and
deletion of the whole log are all reported.

When heads are written: after a transaction with audit records commits (never before, so a
rolled-back transaction cannot advance the anchor), at most once per ``every_records`` records
or ``every_seconds`` seconds per process, and by the ``platform.audit_anchor`` job for a log that
has gone quiet. ``zhixian audit verify`` writes a checkpoint of every lane after a clean run.

What stays open: records committed after the newest anchor line of their lane (at most
``audit_anchor_every_seconds`` of writing, or ``audit_anchor_every_records`` records per process,
and up to one job interval once writing stops) can be deleted by someone with database access
without verify noticing. Someone who can also write the data directory (and so read the key)
can forge anything; keep backups of the anchor off the host.

Several processes append: each write takes an exclusive ``flock`` on ``audit.anchor.lock`` and
appends whole lines in one ``write``; the file is compacted to the newest line per lane once it
grows past ``MAX_BYTES``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from zhixian.clock import utcnow
from zhixian.platform.models import AuditRecord

_DOMAIN = b"zhixian-audit-anchor-v1|"
MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Head:
    """Lane ``lane`` held ``n`` records up to and including record ``id`` (with ``hash``)."""

    lane: int
    id: int
    hash: str
    n: int
    kind: str = "head"
    lost: int | None = None  # an anchored record found gone or replaced when this head was written


@dataclass
class Read:
    heads: dict[int, Head]
    bad_lines: list[int]
    lost: list[Head]
    exists: bool


class Anchor:
    """One per node; thread-safe. Files are created 0600 in the keys folder (0700)."""

    def __init__(self, path: Path, key: bytes, *, every_records: int = 200, every_seconds: float = 2.0) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self._key = key
        self.every_records = every_records
        self.every_seconds = every_seconds
        self._mutex = threading.Lock()
        self._since = 0
        self._last = float("-inf")
        self._seen: tuple[int, int, dict[int, Head]] = (-1, 0, {})  # inode, bytes read, newest heads

    def known(self) -> dict[int, Head]:
        """The newest signed head per lane, reading only what was appended since the last call."""
        with self._mutex:
            try:
                with self.path.open("rb") as f:
                    inode = os.fstat(f.fileno()).st_ino
                    ino, offset, heads = self._seen
                    if inode != ino:  # first read, or compacted by someone
                        offset, heads = 0, {}
                    f.seek(offset)
                    data = f.read()
            except FileNotFoundError:
                self._seen = (-1, 0, {})
                return {}
            complete = data[: data.rfind(b"\n") + 1]  # a line still being appended is read next time
            heads = dict(heads)
            for raw in complete.splitlines():
                head = self._parse(raw)
                if head is not None and (head.lane not in heads or head.id > heads[head.lane].id):
                    heads[head.lane] = head
            self._seen = (inode, offset + len(complete), heads)
            return heads

    # --- lines

    def _mac(self, body: dict[str, Any]) -> str:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(self._key, _DOMAIN + canonical, "sm3").hexdigest()

    def _line(self, head: Head) -> bytes:
        body: dict[str, Any] = {"kind": head.kind, "lane": head.lane, "id": head.id, "hash": head.hash, "n": head.n}
        if head.lost is not None:
            body["lost"] = head.lost
        body["at"] = utcnow().isoformat(timespec="seconds")
        return (json.dumps({**body, "mac": self._mac(body)}, separators=(",", ":")) + "\n").encode()

    def _parse(self, raw: bytes) -> Head | None:
        try:
            body = json.loads(raw)
            mac = body.pop("mac")
            if not hmac.compare_digest(self._mac(body), str(mac)):
                return None
            lost = int(body["lost"]) if body.get("lost") is not None else None
            return Head(int(body["lane"]), int(body["id"]), str(body["hash"]), int(body["n"]), str(body["kind"]), lost)
        except (ValueError, KeyError, TypeError):
            return None

    def read(self) -> Read:
        """The newest (highest id) signed head of every lane, and the numbers of lines that fail their MAC."""
        heads: dict[int, Head] = {}
        bad: list[int] = []
        lost: dict[int, Head] = {}
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return Read(heads, bad, [], exists=False)
        for number, raw in enumerate(data.splitlines(), 1):
            if not raw.strip():
                continue
            head = self._parse(raw)
            if head is None:
                bad.append(number)
                continue
            if head.lane not in heads or head.id > heads[head.lane].id:
                heads[head.lane] = head
            if head.lost is not None:
                lost.setdefault(head.lane, head)
        return Read(heads, bad, list(lost.values()), exists=True)

    # --- writing

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        old = os.umask(0o077)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        finally:
            os.umask(old)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def append(self, heads: list[Head]) -> None:
        if not heads:
            return
        data = b"".join(self._line(h) for h in heads)
        with self._locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size > MAX_BYTES:
                self._compact()
        with self._mutex:
            self._since, self._last = 0, time.monotonic()

    def _compact(self) -> None:
        """Keep the newest line of every lane (and any line failing its MAC, as evidence). Under the lock."""
        keep: dict[int, bytes] = {}
        best: dict[int, int] = {}
        bad: list[bytes] = []  # kept as evidence: lines failing their MAC, the first line per lane with `lost`
        lost: set[int] = set()
        for raw in self.path.read_bytes().splitlines():
            head = self._parse(raw)
            if head is None:
                bad += [raw] if raw.strip() else []
                continue
            if head.lost is not None and head.lane not in lost:
                lost.add(head.lane)
                bad.append(raw)
            if head.id >= best.get(head.lane, -1):
                best[head.lane], keep[head.lane] = head.id, raw
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"".join(line + b"\n" for line in [*bad, *keep.values()]))
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(self.path)

    def due(self, added: int) -> bool:
        with self._mutex:
            self._since += added
            return self._since >= self.every_records or time.monotonic() - self._last >= self.every_seconds

    def heads_for(self, session: Session, tops: dict[int, tuple[int, str]], kind: str = "head") -> list[Head]:
        """Lane heads with their record counts: the last signed count of the lane plus the records after it
        (a short index range). Runs inside the writing transaction, which holds the lane. The last anchored
        record must still be there: if it is gone or replaced, the new head says so (``lost``), and so does
        every later head of the lane, so verify reports it even after the log has grown past it."""
        known = self.known()
        out = []
        for lane, (rec_id, rec_hash) in sorted(tops.items()):
            base = known.get(lane)
            if base is not None and base.id == rec_id and base.hash == rec_hash:
                continue
            lost = None
            if base is not None:
                stored = session.execute(
                    select(AuditRecord.hash).where(AuditRecord.id == base.id, AuditRecord.lane == lane)
                ).scalar()
                lost = base.lost if base.lost is not None else (None if stored == base.hash else base.id)
            after = base.id if base is not None and base.id < rec_id else 0
            n0 = base.n if base is not None and base.id < rec_id else 0
            added = session.execute(
                select(func.count())
                .select_from(AuditRecord)
                .where(AuditRecord.lane == lane, AuditRecord.id > after, AuditRecord.id <= rec_id)
            ).scalar_one()
            out.append(Head(lane, rec_id, rec_hash, n0 + int(added), kind, lost))
        return out


def lane_tops(session: Session) -> dict[int, tuple[int, str]]:
    """The newest record of every lane (one short index lookup per lane)."""
    from zhixian.platform.audit import LANES

    tops: dict[int, tuple[int, str]] = {}
    for lane in range(LANES):
        row = session.execute(
            select(AuditRecord.id, AuditRecord.hash)
            .where(AuditRecord.lane == lane)
            .order_by(AuditRecord.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            tops[lane] = (int(row[0]), str(row[1]))
    return tops


def anchor_now(session: Session, *, kind: str = "head") -> list[Head]:
    """Anchor the committed heads of every lane (the job, and checkpoints after a clean verify)."""
    anchor = session.info.get("audit_anchor")
    if not isinstance(anchor, Anchor) or not session.info.get("durable", True):
        return []
    heads = anchor.heads_for(session, lane_tops(session), kind)
    anchor.append(heads)
    return heads


def job(node: Any) -> None:
    """platform.audit_anchor: anchor a log that has gone quiet since the last commit-time anchor."""
    with node.db.transaction() as session:
        anchor_now(session)


# --- commit hooks: pending records are noted by audit.record


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    pending: list[Any] = session.info.pop("audit_pending", [])  # audit.Appended
    anchor = session.info.get("audit_anchor")
    if not pending or not isinstance(anchor, Anchor) or not session.info.get("durable", True):
        return
    if not anchor.due(len(pending)):
        return
    # records of a rolled-back savepoint are gone: keep those still there (one short index range)
    ids = [a.id for a in pending]
    there = set(session.execute(select(AuditRecord.id).where(AuditRecord.id.between(min(ids), max(ids)))).scalars())
    tops: dict[int, tuple[int, str]] = {}
    for rec in pending:  # in order: SQLite may give a rolled-back record's id again, to a later record
        if rec.id in there and (rec.lane not in tops or rec.id >= tops[rec.lane][0]):
            tops[rec.lane] = (rec.id, rec.hash)
    if not tops:
        return
    session.info["audit_ready"] = anchor.heads_for(session, tops)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ready: list[Head] = session.info.pop("audit_ready", [])
    anchor = session.info.get("audit_anchor")
    if ready and isinstance(anchor, Anchor):
        anchor.append(ready)


@event.listens_for(Session, "after_transaction_end")
def _after_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the root ended (committed or rolled back): nothing carries over
        session.info.pop("audit_pending", None)
        session.info.pop("audit_ready", None)
