"""Holding rows back: the quarantine entry of a bad row or a same-key row, one per department and content.

The same bad row uploaded again (by the same or a new source of the department) meets its entry
again — a sighting by that run, which its report links to — and is never added twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.integration import rules
from zhixian.integration.bulk import among, bulk_insert
from zhixian.integration.load_context import Held
from zhixian.integration.models import QuarantineRow, QuarantineSighting
from zhixian.platform.crypto import FieldCipher

if TYPE_CHECKING:
    from zhixian.integration.pipeline import Plan


def row_hash(number: int, raw: dict[str, Any]) -> str:
    body = json.dumps([number, raw], sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.blake2b(body, digest_size=20).hexdigest()


def fingerprint(resource_id: int, raw: dict[str, Any]) -> str:
    """What makes two bad rows the same: their values as normalised text, whatever their row number."""
    values = {str(k): rules.text(v) for k, v in raw.items()}
    body = json.dumps([resource_id, values], sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.blake2b(body, digest_size=32).hexdigest()


def conflict_fingerprint(resource_id: int, held: Held) -> str:
    body = json.dumps(
        ["conflict", resource_id, held.values, held.fields], sort_keys=True, ensure_ascii=False, default=str
    ).encode()
    return hashlib.blake2b(body, digest_size=32).hexdigest()


@dataclass
class Entry:
    fingerprint: str
    kind: str  # invalid | conflict
    number: int
    raw: dict[str, Any]
    errors: list[dict[str, str]]
    held: Held | None = None
    summary: str = ""


def conflict_reasons(plan: Plan, held: Held) -> tuple[list[dict[str, str]], str]:
    """Per item (for the form) and one sentence (for the list): which row it repeats, what differs."""
    names = {spec.field: spec.name for spec, _, _ in plan.checker.plan}
    key_name = names.get(plan.key_field, plan.key_field)
    differing = "".join(f"“{names.get(n, n)}”" for n in held.fields) or "内容"
    sentence = f"与第 {held.other_row} 行“{key_name}”相同，但{differing}不同"
    per_item = [{"field": n, "message": f"“{names.get(n, n)}”与第 {held.other_row} 行不同"} for n in held.fields]
    return per_item or [{"field": plan.key_field, "message": sentence}], sentence


def hold(session: Session, plan: Plan, run_id: int, entries: list[Entry], cipher: FieldCipher) -> tuple[int, int, int]:
    """Quarantine entries, one per department and fingerprint; this run's sighting of each.

    Returns (invalid rows held, conflicting rows held, rows that repeat an entry already met in this
    run — duplicates, like identical clean rows)."""
    if not entries:
        return 0, 0, 0
    prints = {e.fingerprint for e in entries}

    def ids() -> dict[str, int]:
        return dict(
            session.execute(
                select(QuarantineRow.fingerprint, QuarantineRow.id).where(
                    QuarantineRow.department_id == plan.department_id,
                    among(session, QuarantineRow.fingerprint, prints),
                )
            ).all()
        )

    known = ids()
    met = (
        set(
            session.execute(
                select(QuarantineSighting.quarantine_id).where(
                    QuarantineSighting.run_id == run_id,
                    among(session, QuarantineSighting.quarantine_id, set(known.values())),
                )
            ).scalars()
        )
        if known
        else set()
    )
    first: dict[str, Entry] = {}
    invalid = conflicts = duplicates = 0
    for e in entries:
        if e.fingerprint in first or known.get(e.fingerprint) in met:
            duplicates += 1
            continue
        first[e.fingerprint] = e
        if e.kind == "conflict":
            conflicts += 1
        else:
            invalid += 1
    fresh = [
        {
            "source_id": plan.source_id,
            "run_id": run_id,
            "department_id": plan.department_id,
            "resource_id": plan.resource_id,
            "kind": e.kind,
            "row_number": e.number,
            "row_hash": row_hash(e.number, e.raw),
            "fingerprint": e.fingerprint,
            "data_enc": cipher.encrypt(json.dumps(e.raw, ensure_ascii=False, default=str)),
            "other_row": e.held.other_row if e.held else None,
            "conflict_enc": cipher.encrypt(
                json.dumps(
                    {"key": e.held.key, "fields": e.held.fields, "values": e.held.values},
                    ensure_ascii=False,
                    default=str,
                )
            )
            if e.held
            else None,
            "reasons": e.errors,
            "reason": e.summary or rules.reason_text(e.errors),
            "status": "open",
        }
        for fp, e in first.items()
        if fp not in known
    ]
    if fresh:
        bulk_insert(session, QuarantineRow, fresh)
        known = ids()
    if first:
        bulk_insert(
            session,
            QuarantineSighting,
            [{"quarantine_id": known[fp], "run_id": run_id, "row_number": e.number} for fp, e in first.items()],
        )
    return invalid, conflicts, duplicates
