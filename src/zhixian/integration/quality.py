"""Data quality per resource, a property of its current records rather than of the last run:

* completeness — share of the items filled in the records;
* validity — records ÷ (records + rows still open in the quarantine as invalid): a row fixed and
  loaded from the quarantine counts at once, and one small file cannot halve a large resource;
* duplication — records whose key still has an unsettled same-key conflict ÷ records;
* timeliness — age of the last load against the resource's update cycle.

A snapshot is taken after every run, after every quarantine decision and by the daily job, one row
per resource and day, so the dashboard shows a trend. A resource whose last load is older than its
update cycle is overdue and shows on its department's home page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, case, func, select
from sqlalchemy.orm import Session

from zhixian.catalog import grading
from zhixian.catalog.models import Resource
from zhixian.clock import LOCAL_TZ, utcnow
from zhixian.integration.models import LegalPerson, Person, QualitySnapshot, QuarantineRow, Record, Run, Source

_PERSON_FIELDS = ("name", "gender", "birth_date", "phone_index", "address", "division_code")
_LEGAL_FIELDS = ("name", "legal_rep", "address", "established", "phone_index", "division_code")


def _filled(column: Any) -> Any:
    empty = column.is_(None) | (func.cast(column, String) == "")
    return func.sum(case((empty, 0), else_=1))


def _completeness(session: Session, resource: Resource) -> tuple[int, float]:
    if resource.base_library in ("人口", "法人"):
        model = Person if resource.base_library == "人口" else LegalPerson
        names = _PERSON_FIELDS if model is Person else _LEGAL_FIELDS
        cols = [getattr(model, n) for n in names]
        row = session.execute(select(func.count(), *(_filled(c) for c in cols)).select_from(model)).one()
        total = int(row[0] or 0)
        if not total:
            return 0, 0.0
        return total, sum(int(v or 0) for v in row[1:]) / (total * len(cols))
    total = session.execute(select(func.count()).where(Record.resource_id == resource.id)).scalar_one()
    if not total:
        return 0, 0.0
    sample = (
        session.execute(
            select(Record.data).where(Record.resource_id == resource.id).order_by(Record.id.desc()).limit(5000)
        )
        .scalars()
        .all()
    )
    fields = [i.field_name for i in resource.items]
    filled = sum(1 for data in sample for f in fields if data.get(f) not in (None, ""))
    return total, filled / (len(sample) * len(fields)) if fields and sample else 0.0


def snapshot(session: Session, *, resource_id: int, now: datetime | None = None) -> QualitySnapshot:
    now = now or utcnow()
    resource = session.get(Resource, resource_id)
    assert resource is not None
    total, completeness = _completeness(session, resource)
    runs = (
        session.execute(
            select(Run)
            .where(Run.resource_id == resource_id, Run.status == "succeeded", Run.kind == "load")
            .order_by(Run.finished_at.desc())
            .limit(1)
        )
        .scalars()
        .all()
    )
    last = runs[0] if runs else None
    held = dict(
        session.execute(
            select(QuarantineRow.kind, func.count())
            .where(QuarantineRow.resource_id == resource_id, QuarantineRow.status == "open")
            .group_by(QuarantineRow.kind)
        ).all()
    )
    invalid, conflicting = int(held.get("invalid", 0)), int(held.get("conflict", 0))
    validity = total / (total + invalid) if total + invalid else 0.0
    duplication = min(1.0, conflicting / total) if total else 0.0
    cycle = grading.CYCLE_DAYS.get(resource.update_cycle)
    last_at = last.finished_at if last else None
    overdue = False
    timeliness = 1.0
    if last_at is None:
        timeliness, overdue = 0.0, cycle is not None
    elif cycle is not None:
        age_days = (now - last_at).total_seconds() / 86400
        overdue = age_days > cycle
        timeliness = 1.0 if not overdue else max(0.0, 1 - (age_days - cycle) / cycle)
    day = now.astimezone(LOCAL_TZ).date()
    snap = session.execute(
        select(QualitySnapshot).where(QualitySnapshot.resource_id == resource_id, QualitySnapshot.day == day)
    ).scalar_one_or_none()
    if snap is None:
        snap = QualitySnapshot(resource_id=resource_id, day=day)
        session.add(snap)
    snap.records, snap.completeness, snap.validity = total, round(completeness, 4), round(validity, 4)
    snap.timeliness, snap.duplication, snap.overdue = round(timeliness, 4), round(duplication, 4), overdue
    snap.last_load_at = last_at
    snap.detail = {
        "update_cycle": resource.update_cycle,
        "last_run": last.id if last else None,
        "open_invalid": invalid,
        "open_conflicts": conflicting,
    }
    session.flush()
    return snap


def integrated_resources(session: Session) -> list[int]:
    return list(session.execute(select(Source.resource_id).where(Source.active.is_(True)).distinct()).scalars())


def daily(session: Session, *, now: datetime | None = None) -> list[QualitySnapshot]:
    """The job: snapshot every integrated resource; overdue ones surface on their department's home page."""
    return [snapshot(session, resource_id=rid, now=now) for rid in integrated_resources(session)]
