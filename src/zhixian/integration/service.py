"""Integration rules: who may load what, sources and versioned mappings, runs, and the quarantine.

A department officer loads into their own department's resources and into the county's base
resources (人口/法人) from their own department's sources; the data authority into any. A run
started here is only queued; ``worker`` executes it outside the request (it commits per batch).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from zhixian.catalog import service as catalog_service
from zhixian.catalog.models import Resource
from zhixian.clock import utcnow
from zhixian.db import outside_gate
from zhixian.errors import Conflict, Invalid, NotFound, NotPermitted
from zhixian.integration import pipeline, rules, schedule, worker
from zhixian.integration.connectors import FileInfo, Opened, files, kind_for, remote
from zhixian.integration.models import Mapping, Run, Source
from zhixian.integration.schemas import (
    MappingIn,
    PreviewRead,
    PreviewRow,
    RunRead,
    SourceRead,
    SourceSettings,
)
from zhixian.platform import audit, outbound
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.models import Department
from zhixian.settings import Settings

CHUNK = 1 << 20


def _authority(actor: Actor) -> bool:
    return actor.county_scope and actor.can("catalog.review")


def source_scope(actor: Actor) -> ColumnElement[bool]:
    if actor.county_scope:
        return Source.id.is_not(None)
    return Source.department_id.in_(select(Department.id).where(actor.department_filter(Department.path)))


def target_resource(session: Session, actor: Actor, resource_id: int) -> Resource:
    resource = catalog_service.loadable_resource(session, resource_id)
    if _authority(actor) or resource.kind == "基础":
        return resource
    dept = session.get(Department, resource.department_id)
    if dept is None or not actor.sees_department(dept.path):
        raise NotPermitted("只能向本部门的目录资源或全县基础库加载数据")
    return resource


def get_source(session: Session, *, actor: Actor, source_id: int) -> Source:
    actor.require("integration.view")
    row = session.execute(select(Source).where(Source.id == source_id, source_scope(actor))).scalar_one_or_none()
    if row is None:
        raise NotFound()
    return row


def list_sources(session: Session, *, actor: Actor) -> list[Source]:
    actor.require("integration.view")
    return list(session.execute(select(Source).where(source_scope(actor)).order_by(Source.id.desc())).scalars())


def source_read(session: Session, row: Source) -> SourceRead:
    out = SourceRead.model_validate(row)
    res = session.get(Resource, row.resource_id)
    out.resource_name = res.name if res else ""
    cfg = row.config or {}
    out.columns, out.notes, out.rows = list(cfg.get("columns", [])), list(cfg.get("notes", [])), cfg.get("rows")
    return out


# --- uploads


def store_upload(settings: Settings, stream: IO[bytes], filename: str, sheet: str = "") -> tuple[Path, str, FileInfo]:
    """Streams the upload to disk (never whole in memory), checks it whole, and keeps it by content hash."""
    kind = kind_for(filename)
    if kind is None:
        raise Invalid("只支持 CSV、Excel（.xlsx/.xls）和 JSON 文件", field="file")
    folder = settings.data_dir / "integration" / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".part") as tmp:
        tmp_path = Path(tmp.name)
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if size > settings.max_upload_bytes:
                tmp.close()
                tmp_path.unlink(missing_ok=True)
                raise Invalid(f"文件超过上传上限 {settings.max_upload_bytes // (1024 * 1024)} MB", field="file")
            tmp.write(chunk)
    if size == 0:
        tmp_path.unlink(missing_ok=True)
        raise Invalid("文件为空（0 字节），请选择有内容的文件", field="file")
    try:
        suffix = Path(filename).suffix.lower()
        final = folder / f"{digest.hexdigest()}{suffix}"
        shutil.move(tmp_path, final)
        tmp_path = final
        info = files.scan(final, kind, sheet)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return final, digest.hexdigest(), info


def check_new_source(session: Session, actor: Actor, resource_id: int) -> None:
    """Who may create a source and into which resource — checked before anything is stored."""
    actor.require("integration.run")
    if not actor.department_id:  # the supplying department is the provenance of every loaded value
        raise Invalid("数据源须属于某个部门：请以部门账号建立")
    target_resource(session, actor, resource_id)


def register_source(session: Session, *, actor: Actor, row: Source, detail: dict[str, Any]) -> Source:
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="integration.source.create",
        object_type="integration_source",
        object_id=row.id,
        detail={"kind": row.kind, **detail},
    )
    return row


def _apply_file(row: Source, path: Path, sha: str, info: FileInfo, filename: str) -> None:
    row.kind, row.file_path, row.file_sha256, row.file_name = info.kind, str(path), sha, Path(filename).name[:255]
    row.config = {
        **(row.config or {}),
        "columns": info.columns,
        "rows": info.rows,
        "notes": info.notes,
        "encoding": info.encoding,
        "delimiter": info.delimiter,
        "sheet": info.sheet,
    }


def create_file_source(
    session: Session,
    *,
    actor: Actor,
    settings: Settings,
    name: str,
    resource_id: int,
    filename: str,
    stream: IO[bytes],
    sheet: str = "",
) -> Source:
    if not name.strip():
        raise Invalid("请填写数据源名称", field="name")
    check_new_source(session, actor, resource_id)
    path, sha, info = store_upload(settings, stream, filename, sheet)
    row = Source(
        name=name.strip()[:200],
        department_id=actor.department_id,
        resource_id=resource_id,
        created_by=actor.username,
        config={},
    )
    _apply_file(row, path, sha, info, filename)
    return register_source(
        session, actor=actor, row=row, detail={"file": row.file_name, "sha256": sha, "rows": info.rows}
    )


def replace_file(
    session: Session, *, actor: Actor, settings: Settings, source_id: int, filename: str, stream: IO[bytes]
) -> Source:
    actor.require("integration.run")
    row = get_source(session, actor=actor, source_id=source_id)
    if row.kind not in ("csv", "excel", "json"):
        raise Invalid("该数据源不是文件数据源")
    path, sha, info = store_upload(settings, stream, filename, (row.config or {}).get("sheet", ""))
    _apply_file(row, path, sha, info, filename)
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="integration.source.file",
        object_type="integration_source",
        object_id=row.id,
        detail={"file": row.file_name, "sha256": sha},
    )
    return row


def update_settings(session: Session, *, actor: Actor, source_id: int, data: SourceSettings) -> Source:
    actor.require("integration.run")
    row = get_source(session, actor=actor, source_id=source_id)
    if data.schedule:
        schedule.parse(data.schedule)
    if data.incremental == "watermark" and not data.watermark_column:
        raise Invalid("按水位增量同步须指定水位列", field="watermark_column")
    if row.kind == "sql" and data.watermark_column and not remote.IDENT.match(data.watermark_column):
        raise Invalid("SQL 数据源的水位列名只能含字母、数字、下划线", field="watermark_column")
    row.schedule, row.incremental, row.watermark_column, row.active = (
        data.schedule,
        data.incremental,
        data.watermark_column,
        data.active,
    )
    row.next_run_at = schedule.next_after(data.schedule, utcnow()) if data.schedule else None
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="integration.source.settings",
        object_type="integration_source",
        object_id=row.id,
        detail=data.model_dump(),
    )
    return row


# --- mapping and preview


def suggest_mapping(columns: list[str], resource: Resource) -> dict[str, str]:
    """Columns named like an item (中文名 or field name, case-insensitive) are bound automatically."""
    by_name = {c.strip().lower(): c for c in columns}
    out: dict[str, str] = {}
    for item in resource.items:
        for candidate in (item.name, item.field_name):
            hit = by_name.get(candidate.strip().lower())
            if hit:
                out[item.field_name] = hit
                break
    return out


def set_mapping(session: Session, *, actor: Actor, source_id: int, data: MappingIn) -> Mapping:
    actor.require("integration.run")
    row = get_source(session, actor=actor, source_id=source_id)
    resource = catalog_service.loadable_resource(session, row.resource_id)
    fields = {i.field_name: i for i in resource.items}
    columns = {k: v for k, v in data.columns.items() if v}
    unknown = [k for k in columns if k not in fields]
    if unknown:
        raise Invalid(f"目录资源“{resource.name}”没有信息项：{'、'.join(unknown)}", field="columns")
    known_columns = (row.config or {}).get("columns")
    if known_columns:
        missing = [v for v in columns.values() if v not in known_columns]
        if missing:
            raise Invalid(f"数据源中没有列：{'、'.join(missing)}", field="columns")
    if resource.key_field not in columns:
        raise Invalid(f"必须映射主键信息项“{fields[resource.key_field].name}”，用于去重", field="columns")
    current = session.execute(
        select(Mapping).where(Mapping.source_id == row.id, Mapping.version == row.mapping_version)
    ).scalar_one_or_none()
    if current is not None and current.columns == columns:
        return current
    row.mapping_version += 1
    mapping = Mapping(source_id=row.id, version=row.mapping_version, columns=columns, created_by=actor.username)
    session.add(mapping)
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="integration.mapping.save",
        object_type="integration_source",
        object_id=row.id,
        detail={"version": mapping.version, "columns": columns},
    )
    return mapping


def _first_rows(opened: Opened, rows: int) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    first: list[tuple[int, dict[str, Any]]] = []
    try:
        for number, raw in opened.rows:
            first.append((number, raw))
            if len(first) >= rows:
                break
    finally:
        close = getattr(opened.rows, "close", None)
        if close is not None:
            close()
    return opened.columns, first


def preview(
    session: Session,
    *,
    actor: Actor,
    cipher: FieldCipher,
    settings: Settings,
    source_id: int,
    rows: int = 20,
    mapping: dict[str, str] | None = None,
) -> PreviewRead:
    """First rows as read and as they would load, with each row's validation result. Nothing is written.

    A remote source is read outside the database gate (db.outside_gate): a slow or unreachable remote
    system keeps only this request waiting, never the county."""
    actor.require("integration.run")
    row = get_source(session, actor=actor, source_id=source_id)
    resource = catalog_service.loadable_resource(session, row.resource_id)
    policy = outbound.Policy.of(settings)

    def read() -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
        return _first_rows(pipeline.open_source(row, cipher, limit=rows, policy=policy), rows)

    columns, first = outside_gate(session, read) if row.kind in ("sql", "http") else read()
    if mapping is None and row.mapping_version:
        mapping = dict(pipeline.current_mapping(session, row).columns)
    suggested = suggest_mapping(columns, resource)
    active = mapping if mapping is not None else suggested
    checker = pipeline.make_checker(session, resource, active, settings.county_code)
    out: list[PreviewRow] = []
    for number, raw in first:
        clean, errors = checker.check(raw)
        out.append(
            PreviewRow(row=number, values={k: rules.text(v) for k, v in raw.items()}, clean=clean, errors=errors)
        )
    audit.record(
        session,
        actor.audit,
        action="integration.source.preview",
        object_type="integration_source",
        object_id=row.id,
        detail={"rows": len(out)},
    )
    return PreviewRead(
        columns=columns,
        items=[
            {
                "field": i.field_name,
                "name": i.name,
                "required": i.required or i.field_name == resource.key_field,
                "rule": i.rule,
                "data_type": i.data_type,
            }
            for i in resource.items
        ],
        mapping=active,
        suggested=suggested,
        rows=out,
        valid=sum(1 for r in out if not r.errors),
        invalid=sum(1 for r in out if r.errors),
    )


# --- runs


def start_run(session: Session, *, actor: Actor, source_id: int, trigger: str = "manual") -> Run:
    actor.require("integration.run")
    source = get_source(session, actor=actor, source_id=source_id)
    if not source.active:
        raise Conflict("数据源已停用")
    resource = target_resource(session, actor, source.resource_id)
    mapping = pipeline.current_mapping(session, source)
    open_run = session.execute(
        select(Run.id).where(
            Run.source_id == source.id, Run.status.in_(("queued", "running", "failed")), Run.kind == "load"
        )
    ).scalar()
    if open_run is not None:
        raise Conflict(f"该数据源有未完成的运行（#{open_run}），请先继续该运行")
    run = Run(
        source_id=source.id,
        resource_id=resource.id,
        kind="load",
        trigger=trigger,
        status="queued",
        mapping_version=mapping.version,
        operator=actor.username,
        department_id=source.department_id,
        source_fingerprint=source.file_sha256,
        lineage={
            "source": source.name,
            "source_kind": source.kind,
            "file": source.file_name,
            "sha256": source.file_sha256,
            "mapping_version": mapping.version,
            "mapping": mapping.columns,
            "operator": actor.username,
            "department_id": source.department_id,
            "resource": resource.code,
            "watermark_from": source.watermark_value if source.incremental == "watermark" else "",
        },
    )
    session.add(run)
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="integration.run.start",
        object_type="integration_run",
        object_id=run.id,
        detail={"source": source.id, "mapping_version": mapping.version},
    )
    return run


def get_run(session: Session, *, actor: Actor, run_id: int) -> Run:
    actor.require("integration.view")
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound()
    get_source(session, actor=actor, source_id=run.source_id)
    return run


def run_read(session: Session, run: Run) -> RunRead:
    """The status view: counters, checkpoint and, for file sources, progress against the file's rows."""
    out = RunRead.model_validate(run)
    source = session.get(Source, run.source_id)
    total = (source.config or {}).get("rows") if source is not None and run.kind == "load" else None
    if isinstance(total, int) and total > 0:
        out.total = total
        out.progress = 1.0 if run.status == "succeeded" else round(min(run.checkpoint / total, 1.0), 4)
    return out


def check_resumable(session: Session, *, actor: Actor, run_id: int) -> Run:
    actor.require("integration.run")
    run = get_run(session, actor=actor, run_id=run_id)
    if run.status == "succeeded":
        raise Conflict("该运行已完成")
    source = get_source(session, actor=actor, source_id=run.source_id)
    if source.file_sha256 != run.source_fingerprint:
        raise Conflict("数据源文件已更换，不能继续原运行；请重新运行")
    return run


def queue_resume(session: Session, *, actor: Actor, run_id: int) -> Run:
    """Puts an interrupted or failed run back in the queue; the worker resumes it from its checkpoint."""
    run = check_resumable(session, actor=actor, run_id=run_id)
    if worker.in_flight(run.id):
        raise Conflict("该运行正在排队或执行中，请稍候查看进度")
    run.status, run.error = "queued", ""
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="integration.run.resume",
        object_type="integration_run",
        object_id=run.id,
        detail={"checkpoint": run.checkpoint},
    )
    return run


def list_runs(session: Session, *, actor: Actor, source_id: int | None = None, limit: int = 100) -> list[Run]:
    actor.require("integration.view")
    stmt = select(Run).join(Source, Source.id == Run.source_id).where(source_scope(actor))
    if source_id:
        stmt = stmt.where(Run.source_id == source_id)
    return list(session.execute(stmt.order_by(Run.id.desc()).limit(limit)).scalars())


def due_sources(session: Session, now: datetime) -> list[Source]:
    return list(
        session.execute(
            select(Source).where(Source.active.is_(True), Source.schedule != "", Source.next_run_at <= now)
        ).scalars()
    )
