"""The quarantine: rows that failed checks, kept encrypted with their row number and reasons until a
department officer fixes and re-submits them (loaded under a one-row run) or discards them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Conflict, Invalid, NotFound
from zhixian.integration import pipeline, rules
from zhixian.integration.loaders import LoadContext, loader_for
from zhixian.integration.models import QuarantineRow, Run, Source
from zhixian.integration.schemas import ResubmitIn
from zhixian.integration.service import get_source, source_scope, target_resource
from zhixian.platform import audit
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings


def list_quarantine(
    session: Session, *, actor: Actor, source_id: int | None = None, status: str = "open", limit: int = 200
) -> list[QuarantineRow]:
    actor.require("integration.view")
    stmt = select(QuarantineRow).join(Source, Source.id == QuarantineRow.source_id).where(source_scope(actor))
    if source_id:
        stmt = stmt.where(QuarantineRow.source_id == source_id)
    if status:
        stmt = stmt.where(QuarantineRow.status == status)
    return list(session.execute(stmt.order_by(QuarantineRow.id).limit(limit)).scalars())


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


def get_quarantine(session: Session, *, actor: Actor, quarantine_id: int) -> QuarantineRow:
    actor.require("integration.view")
    row = session.get(QuarantineRow, quarantine_id)
    if row is None:
        raise NotFound()
    get_source(session, actor=actor, source_id=row.source_id)
    return row


def resubmit(
    session: Session, *, actor: Actor, cipher: FieldCipher, settings: Settings, quarantine_id: int, data: ResubmitIn
) -> tuple[QuarantineRow, Run | None, list[dict[str, str]]]:
    """Re-validates the corrected row; if clean it is loaded under a one-row run and the entry closes."""
    actor.require("integration.run")
    row = get_quarantine(session, actor=actor, quarantine_id=quarantine_id)
    if row.status != "open":
        raise Conflict("该隔离记录已处理")
    source = get_source(session, actor=actor, source_id=row.source_id)
    resource = target_resource(session, actor, source.resource_id)
    mapping = pipeline.current_mapping(session, source)
    original: dict[str, Any] = json.loads(cipher.decrypt(row.data_enc))
    unknown = [k for k in data.values if k not in original and k not in mapping.columns.values()]
    if unknown:
        raise Invalid(f"不存在的列：{'、'.join(unknown)}", field="values")
    fixed = {**original, **data.values}
    checker = pipeline.make_checker(session, resource, dict(mapping.columns), settings.county_code)
    clean, errors = checker.check(fixed)
    if errors:
        row.data_enc = cipher.encrypt(json.dumps(fixed, ensure_ascii=False, default=str))
        row.reasons, row.reason = errors, rules.reason_text(errors)
        session.flush()
        return row, None, errors
    run = Run(
        source_id=source.id,
        resource_id=resource.id,
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
        },
    )
    session.add(run)
    session.flush()
    ctx = LoadContext(
        run_id=run.id,
        source_id=source.id,
        department_id=source.department_id,
        owner_department_id=resource.department_id,
        resource_id=resource.id,
        key_field=resource.key_field,
        cipher=cipher,
        now=utcnow(),
        fields=list(mapping.columns),
    )
    counts = loader_for(resource.base_library).apply(session, ctx, [clean])
    run.loaded, run.updated, run.unchanged = counts.loaded, counts.updated, counts.unchanged
    run.duplicates, run.conflicts = counts.duplicates, counts.conflicts
    run.status, run.finished_at = "succeeded", utcnow()
    row.status, row.resolved_by, row.resolved_at = "resubmitted", actor.username, utcnow()
    row.data_enc = cipher.encrypt(json.dumps(fixed, ensure_ascii=False, default=str))
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="integration.quarantine.resubmit",
        object_type="integration_quarantine",
        object_id=row.id,
        detail={"run": run.id, "loaded": counts.loaded, "updated": counts.updated},
    )
    return row, run, []


def discard(session: Session, *, actor: Actor, quarantine_id: int) -> QuarantineRow:
    actor.require("integration.run")
    row = get_quarantine(session, actor=actor, quarantine_id=quarantine_id)
    if row.status != "open":
        raise Conflict("该隔离记录已处理")
    row.status, row.resolved_by, row.resolved_at = "discarded", actor.username, utcnow()
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="integration.quarantine.discard",
        object_type="integration_quarantine",
        object_id=row.id,
    )
    return row
