"""Tables of integration: sources, versioned mappings, runs with checkpoints, quarantine, base databases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhixian.clock import utcnow
from zhixian.db import Base

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Source(Base):
    """A connector: where rows come from and which catalogue resource they load into."""

    __tablename__ = "integration_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))  # csv excel json sql http
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # sheet, url, query, paging, timeout
    secret_enc: Mapped[str | None] = mapped_column(Text)  # SM4: SQL URL with credentials, API token
    file_path: Mapped[str] = mapped_column(String(500), default="")
    file_name: Mapped[str] = mapped_column(String(255), default="")
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    incremental: Mapped[str] = mapped_column(String(12), default="hash")  # hash | watermark
    watermark_column: Mapped[str] = mapped_column(String(100), default="")
    watermark_value: Mapped[str] = mapped_column(String(100), default="")
    schedule: Mapped[str] = mapped_column(String(100), default="")  # "m h dom mon dow", empty = on demand
    next_run_at: Mapped[datetime | None]
    mapping_version: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # a deleted file source stays as a row: its runs, records and history still name it
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[str] = mapped_column(String(64), default="")


class Mapping(Base):
    """Source column → catalogue item bindings; every change is a new version kept for lineage."""

    __tablename__ = "integration_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("integration_source.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    columns: Mapped[dict[str, str]] = mapped_column(JSON)  # item field_name -> source column
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("source_id", "version"),)


class Run(Base):
    """One load: counters and checkpoint are committed with each batch, so a killed run resumes exactly."""

    __tablename__ = "integration_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("integration_source.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="load")  # load | resubmit
    trigger: Mapped[str] = mapped_column(String(12), default="manual")  # manual | schedule
    status: Mapped[str] = mapped_column(String(12), default="running")  # running succeeded failed
    mapping_version: Mapped[int] = mapped_column(default=0)
    operator: Mapped[str] = mapped_column(String(64), default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    source_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[int] = mapped_column(default=0)
    checkpoint: Mapped[int] = mapped_column(default=0)  # rows consumed and committed
    batches: Mapped[int] = mapped_column(default=0)
    read: Mapped[int] = mapped_column(default=0)
    loaded: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    quarantined: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    conflicts: Mapped[int] = mapped_column(default=0)  # fields held because another department supplied them
    key_conflicts: Mapped[int] = mapped_column(default=0)  # rows repeating a key of this run with other values
    watermark_to: Mapped[str] = mapped_column(String(100), default="")
    error: Mapped[str] = mapped_column(String(2000), default="")
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class QuarantineRow(Base):
    """A row held back: it failed normalisation or validation (kind "invalid"), or it repeats a key
    already read in the same run with different values (kind "conflict"). Kept, encrypted, with its
    row number and reasons until fixed, chosen or discarded.

    One entry per department and content fingerprint: the same bad row uploaded again (as the same or
    a new source) is seen again (QuarantineSighting), never added again."""

    __tablename__ = "integration_quarantine"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("integration_source.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("integration_run.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="invalid")  # invalid | conflict
    row_number: Mapped[int]
    row_hash: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    data_enc: Mapped[str] = mapped_column(Text)  # the raw row, SM4-encrypted: it may hold personal data
    # kind "conflict": the row it repeats and the differing values of both, SM4-encrypted JSON
    other_row: Mapped[int | None]
    conflict_enc: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open resubmitted discarded resolved
    resolved_by: Mapped[str] = mapped_column(String(64), default="")
    resolved_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("department_id", "fingerprint"),)


class QuarantineSighting(Base):
    """A run met a quarantine entry (at this row): what the run's report links to as still open."""

    __tablename__ = "integration_quarantine_sighting"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    quarantine_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("integration_quarantine.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("integration_run.id", ondelete="CASCADE"), index=True)
    row_number: Mapped[int]

    __table_args__ = (UniqueConstraint("run_id", "quarantine_id"),)


class Record(Base):
    """A row of a departmental resource, keyed by the resource's key item."""

    __tablename__ = "integration_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("integration_source.id", ondelete="SET NULL"))
    first_run_id: Mapped[int] = mapped_column(default=0)
    last_run_id: Mapped[int] = mapped_column(default=0)
    last_row: Mapped[int] = mapped_column(default=0)  # its row in the last run: names it in an in-run conflict
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # the change feed sweeps by it

    __table_args__ = (UniqueConstraint("resource_id", "key"),)


class Person(Base):
    """人口基础库: one person per ID number; ID number and phone SM4-encrypted, found by blind index."""

    __tablename__ = "integration_person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    id_index: Mapped[str] = mapped_column(String(64), unique=True)
    id_enc: Mapped[str] = mapped_column(String(255))
    id_masked: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(50), default="")
    gender: Mapped[str] = mapped_column(String(2), default="")
    birth_date: Mapped[date | None]
    phone_enc: Mapped[str | None] = mapped_column(String(255))
    phone_index: Mapped[str] = mapped_column(String(64), default="")
    phone_masked: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    division_code: Mapped[str] = mapped_column(String(12), default="", index=True)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field -> {dept, run, at}
    content_hash: Mapped[str] = mapped_column(String(40), default="")
    first_run_id: Mapped[int] = mapped_column(default=0)
    last_run_id: Mapped[int] = mapped_column(default=0)
    last_row: Mapped[int] = mapped_column(default=0)  # its row in the last run: names it in an in-run conflict
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # the change feed sweeps by it


class LegalPerson(Base):
    """法人基础库: one legal person per unified social credit code."""

    __tablename__ = "integration_legal_person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    legal_rep: Mapped[str] = mapped_column(String(50), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    established: Mapped[date | None]
    capital: Mapped[float | None]
    phone_enc: Mapped[str | None] = mapped_column(String(255))
    phone_index: Mapped[str] = mapped_column(String(64), default="")
    phone_masked: Mapped[str] = mapped_column(String(20), default="")
    division_code: Mapped[str] = mapped_column(String(12), default="", index=True)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str] = mapped_column(String(40), default="")
    first_run_id: Mapped[int] = mapped_column(default=0)
    last_run_id: Mapped[int] = mapped_column(default=0)
    last_row: Mapped[int] = mapped_column(default=0)  # its row in the last run: names it in an in-run conflict
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # the change feed sweeps by it


class FieldConflict(Base):
    """Two departments disagree on a value: flagged for the owning department, never overwritten silently."""

    __tablename__ = "integration_conflict"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity: Mapped[str] = mapped_column(String(12))  # person | legal
    entity_id: Mapped[int] = mapped_column(index=True)
    field: Mapped[str] = mapped_column(String(64))
    current_enc: Mapped[str] = mapped_column(Text)
    current_department_id: Mapped[int | None]
    incoming_enc: Mapped[str] = mapped_column(Text)
    incoming_hash: Mapped[str] = mapped_column(String(64))
    incoming_department_id: Mapped[int]
    run_id: Mapped[int] = mapped_column(ForeignKey("integration_run.id", ondelete="CASCADE"))
    owner_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open kept replaced
    resolved_by: Mapped[str] = mapped_column(String(64), default="")
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_integration_conflict_key", "entity", "entity_id", "field", "incoming_hash"),)


class Change(Base):
    """One field of a record changed by a load or a decision: who, when, which run, old → new.

    Values are SM4-encrypted (they may be personal data) and shown masked as the record is."""

    __tablename__ = "integration_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity: Mapped[str] = mapped_column(String(12))  # record | person | legal
    entity_id: Mapped[int] = mapped_column(BigId)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    old_enc: Mapped[str | None] = mapped_column(Text)
    new_enc: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("integration_run.id", ondelete="SET NULL"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("integration_source.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    operator: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_integration_change_entity", "entity", "entity_id"),)


class QualitySnapshot(Base):
    """Per resource and day: completeness, validity, timeliness, duplication (0–1)."""

    __tablename__ = "integration_quality"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    day: Mapped[date]
    records: Mapped[int] = mapped_column(default=0)
    completeness: Mapped[float] = mapped_column(default=0.0)
    validity: Mapped[float] = mapped_column(default=0.0)
    timeliness: Mapped[float] = mapped_column(default=0.0)
    duplication: Mapped[float] = mapped_column(default=0.0)
    overdue: Mapped[bool] = mapped_column(default=False)
    last_load_at: Mapped[datetime | None]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (UniqueConstraint("resource_id", "day"),)
