"""Integration rules: who may load what, sources and versioned mappings, runs, and the quarantine.

A department officer loads into their own department's resources and into the county's base
resources (人口/法人) from their own department's sources; the data authority into any. A run
started here is only queued; ``worker`` executes it outside the request (it commits per batch).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from zhixian.catalog import service as catalog_service
from zhixian.catalog.models import Resource
from zhixian.clock import utcnow
from zhixian.db import outside_gate
from zhixian.errors import Conflict, Invalid, NotFound, NotPermitted
from zhixian.integration import amend, basedata, pipeline, rules, schedule, worker
from zhixian.integration.connectors import Opened, remote
from zhixian.integration.models import Mapping, Run, Source
from zhixian.integration.schemas import (
    MappingIn,
    PersonRead,
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

# a record corrected by its responsible department outside a load (exchange: an accepted 数据异议)
Amended = amend.Amended
amend_record = amend.amend_record
check_amendment = amend.check_amendment


def source_scope(actor: Actor) -> ColumnElement[bool]:
    if actor.county_scope:
        return Source.id.is_not(None)
    return Source.department_id.in_(select(Department.id).where(actor.department_filter(Department.path)))


# --- where a department may load (one rule: the forms offer exactly what the API accepts)

MAINTAINED_ELSEWHERE = ("地理",)  # the geographic base library is kept by 数字城管 (grids, gazetteer)


def _may_load(actor: Actor, resource: Resource, department_path: str) -> bool:
    """Into the county's base resources, or into a resource of the actor's own department (or below);
    county scope (the data authority) into any."""
    return resource.kind == "基础" or actor.sees_department(department_path)


def loadable_targets(session: Session, *, actor: Actor) -> list[Resource]:
    """The resources the actor may create a source for: what the source forms list."""
    actor.require("integration.run")
    rows = session.execute(
        select(Resource, Department.path)
        .join(Department, Department.id == Resource.department_id)
        .where(
            Resource.status == "published",
            Resource.classified.is_(False),
            Resource.key_field != "",
            Resource.base_library.not_in(MAINTAINED_ELSEWHERE),
        )
        .order_by(Resource.code)
    ).all()
    return [r for r, path in rows if _may_load(actor, r, path)]


def target_resource(session: Session, actor: Actor, resource_id: int) -> Resource:
    """The resource a source loads into, if the actor may load there; the reason in Chinese if not."""
    resource = catalog_service.loadable_resource(session, resource_id)
    if resource.base_library in MAINTAINED_ELSEWHERE:
        raise Invalid(f"目录资源“{resource.name}”由数字城管子系统维护（地理基础库），不能在此加载数据")
    dept = session.get(Department, resource.department_id)
    if dept is None or not _may_load(actor, resource, dept.path):
        raise NotPermitted("只能向本部门的目录资源或全县基础库加载数据")
    return resource


def get_source(session: Session, *, actor: Actor, source_id: int) -> Source:
    actor.require("integration.view")
    row = session.execute(select(Source).where(Source.id == source_id, source_scope(actor))).scalar_one_or_none()
    if row is None:
        raise NotFound()
    return row


def list_sources(session: Session, *, actor: Actor) -> list[Source]:
    """The sources in use (a deleted file source is reached from its runs and records, not listed)."""
    actor.require("integration.view")
    stmt = select(Source).where(source_scope(actor), Source.deleted_at.is_(None)).order_by(Source.id.desc())
    return list(session.execute(stmt).scalars())


def live_source(session: Session, *, actor: Actor, source_id: int) -> Source:
    """A source that may still be changed or run."""
    row = get_source(session, actor=actor, source_id=source_id)
    if row.deleted_at is not None:
        raise Conflict("该数据源已删除，不能再修改或运行")
    return row


def source_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Names to show instead of ids; a deleted source says so."""
    if not ids:
        return {}
    rows = session.execute(select(Source.id, Source.name, Source.deleted_at).where(Source.id.in_(ids))).all()
    return {i: f"{n}（已删除）" if gone else n for i, n, gone in rows}


def source_read(session: Session, row: Source) -> SourceRead:
    out = SourceRead.model_validate(row)
    res = session.get(Resource, row.resource_id)
    out.resource_name = res.name if res else ""
    cfg = row.config or {}
    out.columns, out.notes, out.rows = list(cfg.get("columns", [])), list(cfg.get("notes", [])), cfg.get("rows")
    return out


# --- uploads


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


def update_settings(session: Session, *, actor: Actor, source_id: int, data: SourceSettings) -> Source:
    actor.require("integration.run")
    row = live_source(session, actor=actor, source_id=source_id)
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
    row = live_source(session, actor=actor, source_id=source_id)
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
        opened = pipeline.open_source(row, cipher, data_dir=settings.data_dir, limit=rows, policy=policy)
        return _first_rows(opened, rows)

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
    source = live_source(session, actor=actor, source_id=source_id)
    if not source.active:
        raise Conflict("数据源已停用")
    resource = target_resource(session, actor, source.resource_id)
    mapping = pipeline.current_mapping(session, source)
    # an unfinished run blocks a new one while it can still be resumed (its file is still the source's)
    open_run = session.execute(
        select(Run.id).where(
            Run.source_id == source.id,
            Run.kind == "load",
            (Run.status.in_(("queued", "running")))
            | ((Run.status == "failed") & (Run.source_fingerprint == source.file_sha256)),
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
    from zhixian.integration import quarantine  # the quarantine builds on this module

    out = RunRead.model_validate(run)
    source = session.get(Source, run.source_id)
    out.source_name = source_names(session, {run.source_id}).get(run.source_id, "")
    out.still_open = sum(quarantine.still_open(session, run.id).values())
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
    source = live_source(session, actor=actor, source_id=run.source_id)
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


def visible_run_ids(session: Session, *, actor: Actor, ids: set[int]) -> set[int]:
    """Which of these runs this actor may open (a record's history names runs of other departments)."""
    if not ids or not actor.can("integration.view"):
        return set()
    stmt = select(Run.id).join(Source, Source.id == Run.source_id).where(Run.id.in_(ids), source_scope(actor))
    return set(session.execute(stmt).scalars())


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


OWN_FIELDS = basedata.OWN_FIELDS


def own_record(
    session: Session, *, who: audit.AuditContext, id_index: str, id_masked: str, audited: bool = True
) -> PersonRead | None:
    """A person's own population record, for the citizen portal (see ``basedata.own_record``)."""
    return basedata.own_record(session, who=who, id_index=id_index, id_masked=id_masked, audited=audited)
