"""The worker side of bulk export: claim a queued job, write its file, record what left the node.

* ``claim`` leases queued jobs (and running ones whose lease lapsed: a worker died). PostgreSQL:
  ``FOR UPDATE SKIP LOCKED``, so workers in several processes never take the same job; SQLite: one writer.
* ``run`` checks the application and grant again (a grant revoked or suspended since the request fails
  the job, saying why), then reads the rows a batch at a time after the last id (keyset, never OFFSET),
  each batch in its own short transaction — on SQLite a transaction holds the one writer slot, so a long
  one would stall every request. A batch reads only the columns its rendering needs, as plain rows turned
  into columns (``columns``), masked a column at a time by the same ``views.Renderer`` a query page uses.
  The rows' subjects are gathered and filed as disclosures under the export's call every
  ``DISCLOSE_EVERY`` rows, sorted by subject, in one executemany (SQLite) or COPY (PostgreSQL): the
  subject index is random, and filing per small batch rewrote most of its pages at every commit.
  The file is written between transactions, gzip, to a ``.part`` name.
* The last transaction files the last disclosures, marks the job done, completes the call row (rows)
  and writes the one audit record. A failure deletes the partial file and the call's disclosures: what
  never left is not recorded as disclosed; the call and audit record stay, saying why it failed.
Rows are read in id order by keyset: a row changed during the export appears as it was when its batch
was read (the export is not one snapshot, as a dump of a live table by pages is not).
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import io
import json
import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Table, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from zhixian.clock import local_today, utcnow
from zhixian.exchange import columns, exports, grants, sources, views
from zhixian.exchange.models import Application, Call, Disclosure, ExportJob, Grant
from zhixian.exchange.settings import EXPORT_HOURS, EXPORT_MAX_ROWS
from zhixian.exports import csv_columns, csv_lines
from zhixian.platform import audit
from zhixian.platform.audit import AuditContext

log = logging.getLogger(__name__)
BATCH = 50_000
DISCLOSE_EVERY = 200_000  # subjects gathered before they are filed (see _disclose)
LEASE = timedelta(minutes=10)  # renewed by every batch: only a dead worker's job is taken over
_CALLS = cast(Table, Call.__table__)
_INSERT_CALL = insert(_CALLS).returning(_CALLS.c.id)


class Failed(Exception):
    """The job cannot go on; ``reason`` is told to the application."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


def claimable(now: datetime) -> Any:
    """Jobs a worker may take: queued, or running under a lease that lapsed (its worker died)."""
    return or_(ExportJob.status == "queued", (ExportJob.status == "running") & (ExportJob.claimed_until < now))


def claim(session: Session, *, now: datetime, lease: timedelta = LEASE, limit: int = 1) -> list[tuple[int, str]]:
    """Leases up to ``limit`` jobs that are queued (or whose worker's lease lapsed); (id, token) each."""
    stmt = select(ExportJob.id).where(claimable(now)).order_by(ExportJob.created_at, ExportJob.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(session.execute(stmt).scalars())
    if not ids:
        return []
    token = secrets.token_hex(8)
    session.execute(
        update(ExportJob)
        .where(ExportJob.id.in_(ids))
        .values(status="running", claimed_until=now + lease, claim_token=token, attempts=ExportJob.attempts + 1)
    )
    return [(i, token) for i in ids]


@dataclass
class _Plan:
    """What the job reads and how it renders, fixed when it starts."""

    source: sources.Source
    where: list[dict[str, Any]]
    items: list[str]
    plain: list[str]
    masked: list[str]
    fmt: str
    call_id: int
    started: float
    name: str  # the file's name under the exports folder
    limit: int
    columns: set[str] | None = None  # what the batches read (set by _write)


def _held(session: Session, job_id: int, token: str) -> ExportJob | None:
    job = session.get(ExportJob, job_id)
    return job if job is not None and job.claim_token == token and job.status == "running" else None


def _live_grant(session: Session, job: ExportJob) -> tuple[Application, Grant]:
    """The application and the job's grant, if both still allow the export; else Failed saying why."""
    application = session.get(Application, job.application_id)
    if application is None or application.status != "active":
        raise Failed("该应用已停用，导出未执行")
    today = local_today()
    live = [g for g in grants.usable(session, application, job.resource_id, today) if g.id == job.grant_id]
    if not live:
        raise Failed(f"授权已不可用，导出未完成：{grants.why_not(session, application, job.resource_id, today)}")
    if "query" not in live[0].operations:
        raise Failed("该资源的授权已不包含“条件查询”，导出未完成")
    return application, live[0]


def _start(session: Session, job: ExportJob, now: datetime, started: float, settings: Any) -> _Plan:
    application, grant = _live_grant(session, job)
    source = sources.load(session, job.resource_id)
    if source is None or not source.servable:
        raise Failed("该资源已不再通过共享网关提供，导出未执行", 404)
    outside = [f for f in job.items if f not in grant.items]
    if outside:
        raise Failed(f"授权已不含信息项：{'、'.join(outside)}，导出未完成")
    if job.call_id is not None:  # an earlier attempt died: what it recorded never left the node
        _forget(session, job.call_id, "导出中断，已由其他工作进程重新开始")
    job.started_at, job.rows, job.error = now, 0, ""
    job.call_id = _insert_call(session, job, application, grant, now, status=202, result="失败", error="导出进行中")
    plain = [f for f in job.items if f in grant.plain_items]
    masked = sorted(views.masked_fields(source, job.items, grant.plain_items, settings))
    return _Plan(
        source,
        [*grant.row_filter, *job.filters],
        list(job.items),
        plain,
        masked,
        job.format,
        job.call_id,
        started,
        f"{job.id}-{secrets.token_hex(8)}.{job.format}.gz",
        settings.declared(EXPORT_MAX_ROWS),
    )


def _insert_call(
    session: Session,
    job: ExportJob,
    application: Application | None,
    grant: Grant | None,
    now: datetime,
    *,
    status: int,
    result: str,
    error: str,
) -> int:
    values = {
        "at": now,
        "application_id": job.application_id,
        "client_id": application.client_id if application else "",
        "consumer_department_id": job.consumer_department_id,
        "resource_id": job.resource_id,
        "provider_department_id": job.provider_department_id,
        "grant_id": job.grant_id,
        "operation": "export_run",
        "items": list(job.items),
        "rows": 0,
        "purpose": grant.purpose if grant else "",
        "reason": (job.reason or f"批量导出 {job.id}")[:200],
        "status": status,
        "result": result,
        "error": error[:300],
        "ip": job.ip,
        "duration_ms": 0,
    }
    return int(session.execute(_INSERT_CALL, values).scalar_one())


def _forget(session: Session, call_id: int, error: str) -> None:
    session.execute(delete(Disclosure).where(Disclosure.call_id == call_id))
    session.execute(update(Call).where(Call.id == call_id).values(rows=0, result="失败", status=500, error=error[:300]))


class _Hashing(io.RawIOBase):
    """Counts and hashes what gzip writes, on its way to the file."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target, self.digest, self.size = target, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self.size += view.nbytes
        self.target.write(view)
        return view.nbytes


class _Writer:
    def __init__(self, path: Path, fmt: str, items: list[str]) -> None:
        self.raw = path.open("wb")
        self.hashing = _Hashing(self.raw)
        self.gz = gzip.GzipFile(fileobj=cast(IO[bytes], self.hashing), mode="wb", compresslevel=3, mtime=0)
        self.fmt, self.items = fmt, items
        if fmt == "csv":  # a BOM: Excel, which most county staff open CSV with, reads UTF-8 only with one
            self._csv([items], bom=True)

    def _csv(self, rows: list[list[Any]], *, bom: bool = False) -> None:
        self.gz.write(("\ufeff" if bom else "").encode() + csv_lines(rows).encode("utf-8"))

    def write(self, columns: list[list[Any]]) -> None:
        """One batch, a list of values per item (``Renderer.columns``)."""
        if not columns or not columns[0]:
            return
        if self.fmt == "csv":
            self.gz.write(csv_columns(columns).encode("utf-8"))
        else:
            dumps, items = json.dumps, self.items
            text = "".join(
                dumps(dict(zip(items, values, strict=True)), ensure_ascii=False, separators=(",", ":"), default=str)
                + "\n"
                for values in zip(*columns, strict=True)
            )
            self.gz.write(text.encode("utf-8"))

    def close(self) -> tuple[int, str]:
        self.gz.close()
        self.raw.close()
        return self.hashing.size, self.hashing.digest.hexdigest()

    def abort(self) -> None:
        try:
            self.gz.close()
        finally:
            self.raw.close()


def _held_or_lost(session: Session, job_id: int, token: str) -> ExportJob:
    job = _held(session, job_id, token)
    if job is None:
        raise _Lost
    return job


def _disclose(session: Session, call_id: int, pending: dict[str, list[str]]) -> None:
    """Files the gathered disclosures under the export's call, in one COPY (PostgreSQL) or one executemany
    (SQLite), sorted by subject: the subject index takes them in key order, each of its pages written once
    per flush rather than once per batch (on SQLite a commit rewrites every index page it touched)."""
    values = [(call_id, subject, kind) for kind in sorted(pending) for subject in sorted(pending[kind])]
    pending.clear()
    if not values:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection
        text = "".join(f"{c}\t{s}\t{k}\n" for c, s, k in values)
        plain = text.count("\t") == 2 * len(values) and text.count("\n") == len(values) and "\\" not in text
        with driver.cursor() as cur, cur.copy("COPY exchange_disclosure (call_id, subject, kind) FROM STDIN") as copy:
            if plain:  # hex blind indexes and kind words: COPY's text format needs no escaping
                copy.write(text)
            else:
                for value in values:
                    copy.write_row(value)
    else:
        connection.exec_driver_sql("INSERT INTO exchange_disclosure (call_id, subject, kind) VALUES (?, ?, ?)", values)


@dataclass
class _Progress:
    """Where the export stands between batches: the last id written, rows, and the disclosures not yet filed."""

    after: int = 0
    total: int = 0
    pending: dict[str, list[str]] = field(default_factory=dict)  # subjects by kind
    gathered: int = 0


def _batch(node: Any, plan: _Plan, job_id: int, token: str, at: _Progress, size: int) -> columns.Columns:
    """One short transaction: the next rows after ``at.after``, their subjects kept to be disclosed (filed
    once ``DISCLOSE_EVERY`` have gathered); the rows are rendered outside it."""
    with node.db.transaction() as session:
        job = _held_or_lost(session, job_id, token)
        _live_grant(session, job)  # revoked or suspended meanwhile: stops at the next batch
        rows = sources.batch(
            session, plan.source, node.cipher, plan.where, after_id=at.after, limit=size, columns=plan.columns
        )
        job.rows, job.claimed_until = job.rows + len(rows), utcnow() + LEASE
        if job.rows > plan.limit:
            raise Failed(f"符合条件的记录超过单次导出上限 {plan.limit} 条，请加条件分批导出", 422)
        cols = columns.of(plan.source, rows, ())
        for kind, found in columns.subjects(plan.source, cols, node.cipher).items():
            at.pending.setdefault(kind, []).extend(found)
        at.gathered += cols.size
        if at.gathered >= DISCLOSE_EVERY:
            _disclose(session, plan.call_id, at.pending)
            at.gathered = 0
    return cols


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while batches stream through: each batch's short-lived rows would
    otherwise trigger full collections that walk every live object of the process, again and again (a
    third of a 1M-row export's time). Nothing here builds cycles; the collector runs again right after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _write(node: Any, plan: _Plan, job_id: int, token: str, part: Path, size: int) -> tuple[_Progress, int, str]:
    """Every batch into the gzip file; (progress, bytes, sha256). Disclosures still pending are filed by
    the caller in the transaction that marks the job done."""
    renderer = views.Renderer(plan.source, plan.items, plan.plain, node.cipher, node.settings)
    plan.columns = renderer.columns_read()
    writer = _Writer(part, plan.fmt, plan.items)
    at = _Progress()
    try:
        with _collector_paused():
            while True:
                cols = _batch(node, plan, job_id, token, at, size)
                if cols.size:
                    writer.write(renderer.render_columns(cols))
                    at.total += cols.size
                    at.after = int(cols["id"][-1])
                if cols.size < size:
                    break
    except BaseException:
        writer.abort()
        raise
    length, digest = writer.close()
    return at, length, digest


def run(node: Any, job_id: int, token: str, *, batch: int = BATCH) -> str:
    """Writes one claimed job's file; returns the job's status afterwards ("lost" if the claim was taken)."""
    started = time.perf_counter()
    settings = node.settings
    folder = exports.exports_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    leftover: Path | None = None  # deleted unless the job ends done
    try:
        with node.db.transaction() as session:
            plan = _start(session, _held_or_lost(session, job_id, token), utcnow(), started, settings)
        leftover = folder / (plan.name + ".part")
        at, size, digest = _write(node, plan, job_id, token, leftover, batch)
        leftover = leftover.rename(folder / plan.name)
        with node.db.transaction() as session:
            job = _held_or_lost(session, job_id, token)
            _disclose(session, plan.call_id, at.pending)
            _finish(session, job, plan, at.total, size, digest, settings)
        leftover = None
    except _Lost:
        return "lost"
    except Failed as exc:
        _fail(node, job_id, token, exc.reason, exc.status)
        return "failed"
    except Exception:
        log.exception("export %s failed", job_id)
        _fail(node, job_id, token, f"内部错误 {secrets.token_hex(4)}，请重新提交导出", 500)
        return "failed"
    finally:
        if leftover is not None:
            leftover.unlink(missing_ok=True)
    return "done"


class _Lost(Exception):
    """Another worker took the job over (this one's lease lapsed): it stops without recording."""


def _context(job: ExportJob, application: Application | None) -> AuditContext:
    client = application.client_id if application else "?"
    return AuditContext(
        user_id=None, username=f"app:{client}"[:64], department_id=job.consumer_department_id, ip=job.ip
    )


def _finish(session: Session, job: ExportJob, plan: _Plan, total: int, size: int, digest: str, settings: Any) -> None:
    now = utcnow()
    job.status, job.finished_at, job.claimed_until = "done", now, None
    job.expires_at = now + timedelta(hours=settings.declared(EXPORT_HOURS))
    job.rows, job.size, job.sha256, job.file_name = total, size, digest, plan.name
    duration = int((time.perf_counter() - plan.started) * 1000)
    session.execute(
        update(Call)
        .where(Call.id == plan.call_id)
        .values(rows=total, status=200, result="成功", error="", duration_ms=duration)
    )
    application = session.get(Application, job.application_id)
    _audit(session, job, application, "成功", plan.masked, total, "")


def _audit(
    session: Session,
    job: ExportJob,
    application: Application | None,
    result: str,
    masked: list[str],
    rows: int,
    error: str,
) -> None:
    grant = session.get(Grant, job.grant_id)
    audit.record(
        session,
        _context(job, application),
        action="exchange.gateway.export_run",
        object_type="catalog_resource",
        object_id=job.resource_id,
        result=result,
        detail={
            "call": job.call_id,
            "export": job.id,
            "application": job.application_id,
            "application_name": application.name if application else "",
            "grant": job.grant_id,
            "items": list(job.items),
            "masked": masked,
            "rows": rows,
            "subjects": rows,
            "purpose": grant.purpose if grant else "",
            "reason": job.reason,
            "format": job.format,
            "error": error,
        },
    )


def _fail(node: Any, job_id: int, token: str, reason: str, status: int) -> None:
    """Marks the job failed with its reason; the call row says so, its disclosures go (nothing left)."""
    with node.db.transaction() as session:
        job = _held(session, job_id, token)
        if job is None:
            return
        now = utcnow()
        application = session.get(Application, job.application_id)
        if job.call_id is None:
            grant = session.get(Grant, job.grant_id)
            result = "拒绝" if status in (401, 403) else "失败"
            job.call_id = _insert_call(
                session, job, application, grant, now, status=status, result=result, error=reason
            )
        else:
            _forget(session, job.call_id, reason)
            session.execute(update(Call).where(Call.id == job.call_id).values(status=status))
        job.status, job.error, job.rows, job.finished_at, job.claimed_until = "failed", reason[:300], 0, now, None
        _audit(session, job, application, "拒绝" if status in (401, 403) else "失败", [], 0, reason[:300])


def run_due(node: Any, *, limit: int = 5) -> dict[str, int]:
    """Claims and runs queued jobs one at a time until none is left (or ``limit``); several workers may."""
    done: dict[str, int] = {"done": 0, "failed": 0, "lost": 0}
    for _ in range(limit):
        with node.db.transaction() as session:
            claimed = claim(session, now=utcnow())
        if not claimed:
            break
        for job_id, token in claimed:
            done[run(node, job_id, token)] += 1
    return done


def purge(node: Any, *, now: datetime | None = None) -> int:
    """Deletes the files of jobs past their expiry (the job row stays, marked expired); returns how many."""
    now = now or utcnow()
    folder = exports.exports_dir(node.settings)
    with node.db.transaction() as session:
        jobs = list(
            session.execute(
                select(ExportJob).where(ExportJob.status == "done", ExportJob.expires_at <= now).limit(1000)
            ).scalars()
        )
        for job in jobs:
            if job.file_name:
                (folder / job.file_name).unlink(missing_ok=True)
            job.status = "expired"
    return len(jobs)
