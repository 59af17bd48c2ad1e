"""What every load of a batch shares: the run's context going in, the tallies coming out, and how rows compare.

``LoadContext`` (which run, source, departments and resource; the history entry of a change), ``Counts``
and ``Held`` (a same-key row with other values, kept for the department to choose) are the contract
between the pipeline, the quarantine, corrections and both loaders; ``content_hash``, ``as_text`` and
``differing`` are how the loaders tell a duplicate from a changed row. They are apart so the callers
that only build a context or read the tallies need neither loader.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from zhixian.platform.crypto import FieldCipher


def content_hash(values: dict[str, Any]) -> str:
    raw = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.blake2b(raw, digest_size=20).hexdigest()


def as_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


@dataclass
class Held:
    """A clean row that repeats a key already read in this run with other values: both are kept."""

    number: int
    other_row: int
    key: str  # the key as the department wrote it (an ID number in clear: only ever stored encrypted)
    values: dict[str, Any]
    fields: dict[str, tuple[str | None, str | None]]  # field -> (value of other_row, value of this row)


@dataclass
class Counts:
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    conflicts: int = 0  # fields held for another department's decision (the row itself still counts)
    held: list[Held] = field(default_factory=list)
    quarantined: int = 0  # set by the pipeline once the batch's bad and held rows are in the quarantine
    key_conflicts: int = 0


@dataclass
class LoadContext:
    run_id: int
    source_id: int
    department_id: int  # the supplying department (provenance)
    owner_department_id: int  # the resource's department (resolves conflicts)
    resource_id: int
    key_field: str
    cipher: FieldCipher
    now: datetime
    fields: list[str] = field(default_factory=list)  # mapped item fields
    operator: str = ""  # who started the run or made the decision
    note: str = ""  # why, when not a plain load (a quarantine row resubmitted, a conflict decided)

    def change(self, entity: str, entity_id: int, name: str, old: Any, new: Any) -> dict[str, Any]:
        old_text, new_text = as_text(old), as_text(new)
        return {
            "entity": entity,
            "entity_id": entity_id,
            "resource_id": self.resource_id,
            "field": name,
            "old_enc": self.cipher.encrypt(old_text) if old_text is not None else None,
            "new_enc": self.cipher.encrypt(new_text) if new_text is not None else None,
            "run_id": self.run_id,
            "source_id": self.source_id,
            "department_id": self.department_id,
            "operator": self.operator,
            "note": self.note,
            "changed_at": self.now,
        }


def differing(first: dict[str, Any], values: dict[str, Any], key_field: str) -> dict[str, tuple[Any, Any]]:
    return {
        name: (as_text(first.get(name)), as_text(values.get(name)))
        for name in sorted(set(first) | set(values))
        if name != key_field and as_text(first.get(name)) != as_text(values.get(name))
    }
