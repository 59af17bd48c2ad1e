"""Running a load: read → normalise/validate → quarantine or de-duplicate → load, one batch per transaction.

Each batch commits its rows, its quarantine entries, the run's counters and the checkpoint (rows
consumed) together, so a run killed at any moment resumes from the last committed batch and
ends with exactly the counts of an uninterrupted run. Nothing else in a run is stateful.
On big files a worker process validates and encrypts the next batches (prepare.py) while this
process resolves entities and writes; batches are still committed one by one, in order.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.catalog import service as catalog_service
from zhixian.clock import utcnow
from zhixian.db import Database
from zhixian.errors import DomainError, Invalid, Unavailable
from zhixian.integration import holding, prepare, rules
from zhixian.integration.connectors import Opened, files, remote
from zhixian.integration.entity_loader import EntityLoader
from zhixian.integration.load_context import Counts, LoadContext
from zhixian.integration.loaders import loader_for
from zhixian.integration.models import Mapping, Run, Source
from zhixian.platform import outbound
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.models import Division
from zhixian.platform.service import system_actor

BATCH = 2000
SQLITE_LOAD_CACHE_KB = 131_072  # page cache of the loading connection on big files (SQLite's default: 2 MB)
BIG_BATCH = 20_000  # on big files: fewer, larger commits write each index page once per batch, not per row
log = logging.getLogger("zhixian.integration")


class Interrupted(Exception):
    """Raised by the test/bench hook to stop a run between batches, as a kill would."""


@dataclass
class Plan:
    source_id: int
    resource_id: int
    base_library: str
    key_field: str
    department_id: int
    owner_department_id: int
    mapping: dict[str, str]
    checker: rules.RowChecker
    incremental: str
    watermark_column: str
    watermark_value: str
    # what a worker process needs to rebuild the checker (set by _plan; empty means inline only)
    items: list[rules.ItemSpec] = field(default_factory=list)
    known_divisions: frozenset[str] = frozenset()
    county_code: str = ""


def item_specs(resource: Any) -> list[rules.ItemSpec]:
    return [
        rules.ItemSpec(
            field=i.field_name,
            name=i.name,
            data_type=i.data_type,
            length=i.length,
            rule=i.rule,
            required=i.required or i.field_name == resource.key_field,
            min_value=i.min_value,
            max_value=i.max_value,
        )
        for i in resource.items
    ]


def known_divisions(session: Session) -> frozenset[str]:
    return frozenset(session.execute(select(Division.code)).scalars())


def make_checker(session: Session, resource: Any, mapping: dict[str, str], county_code: str) -> rules.RowChecker:
    return rules.RowChecker(
        item_specs(resource), mapping, known_divisions=known_divisions(session), county_code=county_code
    )


def current_mapping(session: Session, source: Source) -> Mapping:
    row = session.execute(
        select(Mapping).where(Mapping.source_id == source.id, Mapping.version == source.mapping_version)
    ).scalar_one_or_none()
    if row is None:
        raise Invalid("数据源尚未配置字段映射", field="mapping")
    return row


def file_of(source: Source, data_dir: Path | None) -> Path | None:
    """Where an uploaded file is: stored relative to the data directory (older rows: absolute)."""
    if not source.file_path:
        return None
    path = Path(source.file_path)
    return path if path.is_absolute() or data_dir is None else data_dir / path


def open_source(
    source: Source,
    cipher: FieldCipher,
    *,
    data_dir: Path | None = None,
    limit: int | None = None,
    watermark: str = "",
    policy: outbound.Policy | None = None,
) -> Opened:
    """The source's rows; remote ones only through ``policy`` (None: nothing local may be reached).

    data_dir: what an uploaded file's stored path is relative to (settings.data_dir)."""
    cfg = source.config or {}
    timeout = int(cfg.get("timeout", 30))
    if source.kind in ("csv", "excel", "json"):
        path = file_of(source, data_dir)
        if path is None or not path.exists():
            raise Invalid("数据源文件不存在，请重新上传")
        if source.kind == "csv":
            return files.open_csv(path, cfg.get("encoding", "utf-8"), cfg.get("delimiter", ","))
        if source.kind == "excel":
            return files.open_excel(path, cfg.get("sheet", ""))
        return files.open_json(path)
    secret = cipher.decrypt(source.secret_enc) if source.secret_enc else ""
    if source.kind == "sql":
        return remote.open_sql(
            secret,
            cfg.get("query", ""),
            timeout=timeout,
            watermark_column=source.watermark_column if source.incremental == "watermark" else "",
            watermark=watermark,
            limit=limit,
            policy=policy,
        )
    return remote.open_http(
        cfg.get("url", ""),
        records_key=cfg.get("records_key", "data"),
        page_param=cfg.get("page_param", "page"),
        size_param=cfg.get("size_param", "size"),
        page_size=int(cfg.get("page_size", 100)),
        token=secret,
        timeout=timeout,
        policy=policy,
    )


def _wm_key(value: Any) -> tuple[int, float, str]:
    s = rules.text(value) or ""
    try:
        return (0, float(s), "")
    except ValueError:
        return (1, 0.0, s)


def _plan(session: Session, run: Run, county_code: str) -> Plan:
    source = session.get(Source, run.source_id)
    assert source is not None
    resource = catalog_service.loadable_resource(session, source.resource_id)
    mapping = session.execute(
        select(Mapping).where(Mapping.source_id == source.id, Mapping.version == run.mapping_version)
    ).scalar_one()
    items = item_specs(resource)
    known = known_divisions(session)
    columns = dict(mapping.columns)
    return Plan(
        source_id=source.id,
        resource_id=resource.id,
        base_library=resource.base_library,
        key_field=resource.key_field,
        department_id=source.department_id,
        owner_department_id=resource.department_id,
        mapping=columns,
        checker=rules.RowChecker(items, columns, known_divisions=known, county_code=county_code),
        incremental=source.incremental,
        watermark_column=source.watermark_column,
        watermark_value=str(run.lineage.get("watermark_from", "")),
        items=items,
        known_divisions=known,
        county_code=county_code,
    )


def process_batch(
    session: Session,
    plan: Plan,
    run_id: int,
    rows: list[tuple[int, dict[str, Any]]],
    cipher: FieldCipher,
    prepared: prepare.Prepared | None = None,
    operator: str = "",
) -> Counts:
    """Validate, quarantine and load one batch in the caller's transaction; the counts of every row.

    prepared: the batch already validated (and sealed) by a worker process; else done here."""
    loader = loader_for(plan.base_library)
    if prepared is None:
        seal = loader.seal_spec(list(plan.mapping)) if isinstance(loader, EntityLoader) else None
        prepared = prepare.prepare(plan.checker, cipher, rows, seal)
    good, bad = prepared.good, prepared.bad
    ctx = LoadContext(
        run_id=run_id,
        source_id=plan.source_id,
        department_id=plan.department_id,
        owner_department_id=plan.owner_department_id,
        resource_id=plan.resource_id,
        key_field=plan.key_field,
        cipher=cipher,
        now=utcnow(),
        fields=list(plan.mapping),
        operator=operator,
    )
    if not good:
        counts = Counts()
    elif isinstance(loader, EntityLoader):
        counts = loader.apply(session, ctx, good, prepared.sealed, prepared.numbers)
    else:
        counts = loader.apply(session, ctx, good, prepared.numbers)
    raws = dict(rows) if counts.held else {}
    entries = [
        holding.Entry(holding.fingerprint(plan.resource_id, b["raw"]), "invalid", b["number"], b["raw"], b["errors"])
        for b in bad
    ]
    for h in counts.held:
        per_item, sentence = holding.conflict_reasons(plan, h)
        entries.append(
            holding.Entry(
                holding.conflict_fingerprint(plan.resource_id, h),
                "conflict",
                h.number,
                raws.get(h.number, {}),
                per_item,
                h,
                sentence,
            )
        )
    invalid, conflicts, duplicates = holding.hold(session, plan, run_id, entries, cipher)
    counts.quarantined, counts.key_conflicts = invalid, conflicts
    counts.duplicates += duplicates
    return counts


def _batches(
    opened: Opened, skip: int, plan: Plan, size: int
) -> Iterator[tuple[int, list[tuple[int, dict[str, Any]]], str]]:
    """(rows consumed, rows kept, max watermark) per batch; rows at or below the watermark are not read."""
    consumed = 0
    batch: list[tuple[int, dict[str, Any]]] = []
    use_wm = plan.incremental == "watermark" and plan.watermark_column
    floor = _wm_key(plan.watermark_value) if use_wm and plan.watermark_value else None
    top = ""
    for index, (number, raw) in enumerate(opened.rows):
        if index < skip:
            continue
        consumed += 1
        if use_wm:
            value = raw.get(plan.watermark_column)
            if floor is not None and _wm_key(value) <= floor:
                if consumed >= size:
                    yield consumed, batch, top
                    consumed, batch = 0, []
                continue
            if value is not None and (not top or _wm_key(value) > _wm_key(top)):
                top = rules.text(value) or ""
        batch.append((number, raw))
        if consumed >= size:
            yield consumed, batch, top
            consumed, batch = 0, []
    if consumed:
        yield consumed, batch, top


PARALLEL_MIN_BYTES = 8 * 1024 * 1024  # below this a worker process costs more than it saves


def _pool(
    plan: Plan, source: Source, cipher: FieldCipher, workers: int | None, data_dir: Path | None
) -> ProcessPoolExecutor | None:
    """Worker processes that validate and seal batches ahead of the writer (None: do it inline)."""
    if workers is None:
        path = file_of(source, data_dir) if source.kind in ("csv", "excel", "json") else None
        workers = 1 if path is not None and path.exists() and path.stat().st_size >= PARALLEL_MIN_BYTES else 0
    if workers <= 0 or not plan.items:
        return None
    keys = cipher.keyring()  # the worker needs the same keyring, not a file path
    twin = FieldCipher(keys)
    if twin.blind_index("zhixian") != cipher.blind_index("zhixian") or cipher.needs_rotation(twin.encrypt("z")):
        return None  # a keyring that cannot be rebuilt identically: stay inline
    loader = loader_for(plan.base_library)
    seal = loader.seal_spec(list(plan.mapping)) if isinstance(loader, EntityLoader) else None
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded server process
        initializer=prepare.init_worker,
        initargs=(keys, plan.items, plan.mapping, plan.known_divisions, plan.county_code, seal),
    )


Batch = tuple[int, list[tuple[int, dict[str, Any]]], str]


def _ahead(
    batches: Iterator[Batch], pool: ProcessPoolExecutor | None, depth: int
) -> Iterator[tuple[Batch, prepare.Prepared | None]]:
    """Batches in order, each prepared by the pool while earlier ones are being written; at most depth
    batches are read ahead, so memory stays flat."""
    if pool is None:
        for batch in batches:
            yield batch, None
        return
    pending: deque[tuple[Batch, Future[prepare.Prepared]]] = deque()
    for batch in batches:
        pending.append((batch, pool.submit(prepare.work, batch[1])))
        if len(pending) > depth:
            done, future = pending.popleft()
            yield done, future.result()
    while pending:
        done, future = pending.popleft()
        yield done, future.result()


def _size_cache(session: Session, db: Database, *, big: bool) -> None:
    """Random blind-index keys touch pages all over a unique index: on SQLite a big load keeps it in memory."""
    if big and db.dialect == "sqlite":
        session.connection().exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KB}")


def failure_reason(exc: BaseException, batches: int) -> str:
    """What the run page shows: the domain message as is, anything else as a Chinese sentence."""
    if isinstance(exc, DomainError):
        return exc.detail[:1900]
    kept = f"本次已提交 {batches} 个批次并保留" if batches else "本次未提交任何批次"
    return f"运行出错（{type(exc).__name__}：{str(exc)[:300]}）；{kept}，可从断点继续运行"[:1900]


def _record_failure(db: Database, run_id: int, message: str, started: float) -> None:
    try:
        with db.transaction() as session:
            run = session.get(Run, run_id)
            if run is not None:
                run.status, run.error, run.finished_at = "failed", message, utcnow()
                run.duration_ms += int((time.monotonic() - started) * 1000)
    except Exception:  # the database itself may be what failed; the run stays resumable
        log.exception("could not record the failure of run %s", run_id)


def execute(  # noqa: PLR0915 - one linear story: plan, batches, failure, finish
    db: Database,
    cipher: FieldCipher,
    run_id: int,
    *,
    county_code: str,
    batch_size: int | None = None,
    stop_after_batches: int | None = None,
    progress: Callable[[Run], None] | None = None,
    workers: int | None = None,
    policy: outbound.Policy | None = None,
    data_dir: Path | None = None,
) -> None:
    """Runs (or resumes) a run to the end. Owns its transactions; never call inside a request transaction.

    workers: processes preparing batches ahead (None: one for big files, none otherwise).
    batch_size: rows per transaction (None: BATCH, or BIG_BATCH when a worker prepares them).
    policy: where remote sources may connect (outbound.Policy.of(settings)); remote reads happen between
    transactions, never inside one. data_dir: settings.data_dir, where uploaded files are kept."""
    started = time.monotonic()
    done = 0
    pool: ProcessPoolExecutor | None = None
    try:
        with db.transaction() as session:
            run = session.get(Run, run_id)
            if run is None or run.status == "succeeded":
                return
            run.status, run.error = "running", ""
            plan = _plan(session, run, county_code)
            source = session.get(Source, run.source_id)
            assert source is not None
            skip = run.checkpoint
            operator = run.operator
            top_seen = run.watermark_to
            session.expunge(source)
        opened = open_source(source, cipher, data_dir=data_dir, watermark=plan.watermark_value, policy=policy)
        pool = _pool(plan, source, cipher, workers, data_dir)
        ahead = (workers or 1) + 1
        if batch_size is None:
            batch_size = BIG_BATCH if pool is not None else BATCH
        for (consumed, batch, top), prepared in _ahead(_batches(opened, skip, plan, batch_size), pool, ahead):
            with db.transaction() as session:
                _size_cache(session, db, big=pool is not None)
                counts = process_batch(session, plan, run_id, batch, cipher, prepared, operator)
                run = session.get(Run, run_id)
                assert run is not None
                run.read += len(batch)
                run.loaded += counts.loaded
                run.updated += counts.updated
                run.unchanged += counts.unchanged
                run.duplicates += counts.duplicates
                run.conflicts += counts.conflicts
                run.key_conflicts += counts.key_conflicts
                run.quarantined += counts.quarantined
                run.checkpoint += consumed
                run.batches += 1
                if top and (not top_seen or _wm_key(top) > _wm_key(top_seen)):
                    top_seen = run.watermark_to = top
            done += 1
            if progress is not None:
                progress(run)
            if stop_after_batches is not None and done >= stop_after_batches:
                raise Interrupted  # noqa: TRY301 - the simulated kill must leave the run as a kill would
        with db.transaction() as session:
            run = session.get(Run, run_id)
            source = session.get(Source, run.source_id) if run else None
            assert run is not None
            assert source is not None
            run.status, run.finished_at = "succeeded", utcnow()
            run.duration_ms += int((time.monotonic() - started) * 1000)
            if plan.incremental == "watermark" and run.watermark_to:
                source.watermark_value = run.watermark_to
            from zhixian.integration import quality

            quality.snapshot(session, resource_id=plan.resource_id)
            from zhixian.platform import audit

            audit.record(
                session,
                system_actor().audit if not run.operator else audit.AuditContext(username=run.operator),
                action="integration.run.finish",
                object_type="integration_run",
                object_id=run.id,
                detail={
                    "read": run.read,
                    "loaded": run.loaded,
                    "updated": run.updated,
                    "unchanged": run.unchanged,
                    "quarantined": run.quarantined,
                    "duplicates": run.duplicates,
                    "key_conflicts": run.key_conflicts,
                    "conflicts": run.conflicts,
                },
            )
    except Interrupted:
        raise
    except Exception as exc:
        message = failure_reason(exc, done)
        _record_failure(db, run_id, message, started)
        if isinstance(exc, DomainError):
            raise
        raise Unavailable(message) from exc
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
