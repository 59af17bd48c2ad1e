"""The quarantine: rows held back, kept encrypted with their row number and reasons until a department
officer deals with them.

* kind "invalid": the row failed its checks; fixed and re-submitted (loaded under a one-row run) or discarded;
* kind "conflict": the row repeats a key already read in the same run with other values; the officer
  chooses, item by item, which row's value the record keeps.

After each decision the resource's quality is taken again: it describes the records, not the last run.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Conflict, Invalid, NotFound
from zhixian.integration import pipeline, quality, records, rules, service
from zhixian.integration.load_context import LoadContext
from zhixian.integration.loaders import loader_for
from zhixian.integration.models import QuarantineRow, QuarantineSighting, Record, Run, Source
from zhixian.integration.schemas import ChooseIn, ResubmitIn
from zhixian.platform import audit
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings

STATUSES = {"open": "待处理", "resubmitted": "已重新提交", "resolved": "已选定", "discarded": "已放弃"}
KINDS = {"invalid": "未通过校验", "conflict": "同键异值"}


def _listing(actor: Actor, source_id: int | None, status: str, run_id: int | None, kind: str) -> Any:
    stmt = select(QuarantineRow).join(Source, Source.id == QuarantineRow.source_id).where(service.source_scope(actor))
    if source_id:
        stmt = stmt.where(QuarantineRow.source_id == source_id)
    if status:
        stmt = stmt.where(QuarantineRow.status == status)
    if kind:
        stmt = stmt.where(QuarantineRow.kind == kind)
    if run_id:  # what the run met: its sightings, wherever the entry was first recorded
        stmt = stmt.where(
            QuarantineRow.id.in_(select(QuarantineSighting.quarantine_id).where(QuarantineSighting.run_id == run_id))
        )
    return stmt


def list_quarantine(
    session: Session,
    *,
    actor: Actor,
    source_id: int | None = None,
    status: str = "open",
    run_id: int | None = None,
    kind: str = "",
    limit: int = 200,
    offset: int = 0,
) -> list[QuarantineRow]:
    actor.require("integration.view")
    stmt = _listing(actor, source_id, status, run_id, kind)
    return list(session.execute(stmt.order_by(QuarantineRow.id).limit(limit).offset(offset)).scalars())


def count_quarantine(
    session: Session,
    *,
    actor: Actor,
    source_id: int | None = None,
    status: str = "open",
    run_id: int | None = None,
    kind: str = "",
) -> int:
    actor.require("integration.view")
    stmt = _listing(actor, source_id, status, run_id, kind).with_only_columns(func.count(QuarantineRow.id))
    return int(session.execute(stmt).scalar_one())


def still_open(session: Session, run_id: int) -> dict[str, int]:
    """Of the rows a run held back, how many are still open, by kind (what its report links to)."""
    rows = session.execute(
        select(QuarantineRow.kind, func.count())
        .join(QuarantineSighting, QuarantineSighting.quarantine_id == QuarantineRow.id)
        .where(QuarantineSighting.run_id == run_id, QuarantineRow.status == "open")
        .group_by(QuarantineRow.kind)
    ).all()
    out = {"invalid": 0, "conflict": 0}
    out.update({k: int(n) for k, n in rows})
    return out


def quarantine_data(session: Session, *, actor: Actor, cipher: FieldCipher, row: QuarantineRow) -> dict[str, Any]:
    """The raw row as received (may contain personal data): only for whoever fixes it, and audited."""
    actor.require("integration.run")
    data: dict[str, Any] = json.loads(cipher.decrypt(row.data_enc))
    audit.record(
        session,
        actor.audit,
        action="integration.quarantine.read",
        object_type="integration_quarantine",
        object_id=row.id,
        detail={"source": row.source_id, "row": row.row_number},
    )
    return data


def conflict_payload(cipher: FieldCipher, row: QuarantineRow) -> dict[str, Any]:
    """key, fields {item: [value of other_row, value of this row]}, values (this row, clean)."""
    if row.kind != "conflict" or not row.conflict_enc:
        return {"key": "", "fields": {}, "values": {}}
    payload: dict[str, Any] = json.loads(cipher.decrypt(row.conflict_enc))
    return payload


def conflict_summaries(
    session: Session, *, actor: Actor, cipher: FieldCipher, rows: list[QuarantineRow]
) -> dict[int, list[tuple[str, str, str]]]:
    """Both values of each conflicting entry, masked as the record is masked: id → [(item, kept, held)].

    Shown in the list, so the read of these (masked) values is audited once for the list."""
    out: dict[int, list[tuple[str, str, str]]] = {}
    conflicts = [r for r in rows if r.kind == "conflict" and r.conflict_enc]
    if not conflicts:
        return out
    resources: dict[int, Any] = {}
    for row in conflicts:
        resource = resources.get(row.resource_id)
        if resource is None:
            resource = resources[row.resource_id] = records.load_resource(session, row.resource_id)
        payload = conflict_payload(cipher, row)
        mask = records.masker_for(session, resource, uscc=str(payload.get("key", "")))
        labels = records.labels_for(resource)
        out[row.id] = [
            (labels.get(name, name), mask(name, pair[0]) or "（空）", mask(name, pair[1]) or "（空）")
            for name, pair in payload.get("fields", {}).items()
        ]
    audit.record(
        session,
        actor.audit,
        action="integration.quarantine.list",
        object_type="integration_quarantine",
        detail={"ids": [r.id for r in conflicts][:500], "count": len(conflicts), "masked": True},
    )
    return out


def get_quarantine(session: Session, *, actor: Actor, quarantine_id: int) -> QuarantineRow:
    actor.require("integration.view")
    row = session.get(QuarantineRow, quarantine_id)
    if row is None:
        raise NotFound()
    service.get_source(session, actor=actor, source_id=row.source_id)
    return row


def _one_row_run(session: Session, actor: Actor, source: Source, row: QuarantineRow, detail: dict[str, Any]) -> Run:
    mapping = pipeline.current_mapping(session, source)
    run = Run(
        source_id=source.id,
        resource_id=source.resource_id,
        kind="resubmit",
        trigger="manual",
        status="running",
        mapping_version=mapping.version,
        operator=actor.username,
        department_id=source.department_id,
        source_fingerprint=source.file_sha256,
        read=1,
        checkpoint=1,
        batches=1,
        lineage={
            "source": source.name,
            "quarantine_id": row.id,
            "row_number": row.row_number,
            "original_run": row.run_id,
            "mapping_version": mapping.version,
            "operator": actor.username,
            **detail,
        },
    )
    session.add(run)
    session.flush()
    return run


def _load_one(
    session: Session,
    *,
    actor: Actor,
    cipher: FieldCipher,
    source: Source,
    row: QuarantineRow,
    values: dict[str, Any],
    fields: list[str],
    note: str,
    detail: dict[str, Any],
) -> Run:
    resource = service.target_resource(session, actor, source.resource_id)
    run = _one_row_run(session, actor, source, row, detail)
    ctx = LoadContext(
        run_id=run.id,
        source_id=source.id,
        department_id=source.department_id,
        owner_department_id=resource.department_id,
        resource_id=resource.id,
        key_field=resource.key_field,
        cipher=cipher,
        now=utcnow(),
        fields=fields,
        operator=actor.username,
        note=note,
    )
    loader = loader_for(resource.base_library)
    counts = loader.apply(session, ctx, [values], numbers=[row.row_number])
    run.loaded, run.updated, run.unchanged = counts.loaded, counts.updated, counts.unchanged
    run.duplicates, run.conflicts = counts.duplicates, counts.conflicts
    run.status, run.finished_at = "succeeded", utcnow()
    return run


def resubmit(
    session: Session, *, actor: Actor, cipher: FieldCipher, settings: Settings, quarantine_id: int, data: ResubmitIn
) -> tuple[QuarantineRow, Run | None, list[dict[str, str]]]:
    """Re-validates the corrected row; if clean it is loaded under a one-row run and the entry closes."""
    actor.require("integration.run")
    row = get_quarantine(session, actor=actor, quarantine_id=quarantine_id)
    if row.status != "open":
        raise Conflict("该隔离记录已处理")
    if row.kind == "conflict":
        raise Conflict("该行与另一行主键相同、内容不同：请逐项选择采用哪一行的值")
    source = service.get_source(session, actor=actor, source_id=row.source_id)
    resource = service.target_resource(session, actor, source.resource_id)
    mapping = pipeline.current_mapping(session, source)
    original: dict[str, Any] = json.loads(cipher.decrypt(row.data_enc))
    unknown = [k for k in data.values if k not in original and k not in mapping.columns.values()]
    if unknown:
        raise Invalid(f"不存在的列：{'、'.join(unknown)}", field="values")
    fixed = {**original, **data.values}
    checker = pipeline.make_checker(session, resource, dict(mapping.columns), settings.county_code)
    clean, errors = checker.check(fixed)
    row.data_enc = cipher.encrypt(json.dumps(fixed, ensure_ascii=False, default=str))
    if errors:
        row.reasons, row.reason = errors, rules.reason_text(errors)
        session.flush()
        return row, None, errors
    run = _load_one(
        session,
        actor=actor,
        cipher=cipher,
        source=source,
        row=row,
        values=clean,
        fields=list(mapping.columns),
        note=f"隔离区第 {row.row_number} 行修正后重新提交",
        detail={},
    )
    row.status, row.resolved_by, row.resolved_at = "resubmitted", actor.username, utcnow()
    session.flush()
    quality.snapshot(session, resource_id=resource.id)
    audit.record(
        session,
        actor.audit,
        action="integration.quarantine.resubmit",
        object_type="integration_quarantine",
        object_id=row.id,
        detail={"run": run.id, "loaded": run.loaded, "updated": run.updated},
    )
    return row, run, []


def choose(
    session: Session, *, actor: Actor, cipher: FieldCipher, quarantine_id: int, data: ChooseIn
) -> tuple[QuarantineRow, Run | None]:
    """Settles a same-key conflict item by item: "kept" leaves the loaded row's value, "held" takes this row's.

    Taking any value of this row loads it (only those items) under a one-row run, so the record's
    history shows the old value, who chose, and the run."""
    actor.require("integration.run")
    row = get_quarantine(session, actor=actor, quarantine_id=quarantine_id)
    if row.status != "open":
        raise Conflict("该条已处理")
    if row.kind != "conflict":
        raise Conflict("该行未通过校验：请修正后重新提交")
    payload = conflict_payload(cipher, row)
    fields: dict[str, Any] = payload.get("fields", {})
    unknown = [k for k in data.choices if k not in fields]
    if unknown:
        raise Invalid(f"不是有差异的信息项：{'、'.join(unknown)}", field="choices")
    source = service.get_source(session, actor=actor, source_id=row.source_id)
    resource = service.target_resource(session, actor, source.resource_id)
    labels = records.labels_for(resource)
    missing = [labels.get(k, k) for k in fields if k not in data.choices]
    if missing:
        raise Invalid(f"请为每个有差异的信息项选择采用哪一行的值：{'、'.join(missing)}", field="choices")
    take = [k for k in fields if data.choices[k] == "held"]
    run = None
    if take:
        values: dict[str, Any] = payload.get("values", {})
        key = str(payload.get("key", ""))
        if resource.base_library in ("人口", "法人"):
            chosen = {resource.key_field: values.get(resource.key_field, key), **{k: values.get(k) for k in take}}
            mapped = [resource.key_field, *take]
        else:
            current = session.execute(
                select(Record.data).where(Record.resource_id == resource.id, Record.key == key)
            ).scalar_one_or_none()
            chosen = {**(current or values), **{k: values.get(k) for k in take}}
            mapped = list(chosen)
        run = _load_one(
            session,
            actor=actor,
            cipher=cipher,
            source=source,
            row=row,
            values=chosen,
            fields=mapped,
            note=f"同键异值：采用第 {row.row_number} 行的值（第 {row.other_row} 行已加载）",
            detail={"choices": data.choices},
        )
    row.status, row.resolved_by, row.resolved_at = "resolved", actor.username, utcnow()
    session.flush()
    quality.snapshot(session, resource_id=resource.id)
    audit.record(
        session,
        actor.audit,
        action="integration.quarantine.choose",
        object_type="integration_quarantine",
        object_id=row.id,
        detail={"choices": data.choices, "run": run.id if run else None},
    )
    return row, run


def discard(session: Session, *, actor: Actor, quarantine_id: int) -> QuarantineRow:
    actor.require("integration.run")
    row = get_quarantine(session, actor=actor, quarantine_id=quarantine_id)
    if row.status != "open":
        raise Conflict("该隔离记录已处理")
    row.status, row.resolved_by, row.resolved_at = "discarded", actor.username, utcnow()
    session.flush()
    quality.snapshot(session, resource_id=row.resource_id)
    audit.record(
        session,
        actor.audit,
        action="integration.quarantine.discard",
        object_type="integration_quarantine",
        object_id=row.id,
    )
    return row
