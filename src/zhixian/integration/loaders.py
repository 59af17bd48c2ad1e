"""Loading clean rows: departmental records by key, and the 人口/法人 base databases with entity resolution.

Each batch is fetched with one query per table and written with executemany, so a million rows
cost a few hundred round trips. Nothing is lost silently:

* a row repeating a key already read in the same run is a duplicate only when it is identical after
  normalisation; with other values it is held (``Held``) for the department to choose, never dropped;
* a value already supplied by another department is never overwritten: the disagreement becomes a
  FieldConflict for the owning department to settle;
* every value an update replaces is kept in the record's history (``Change``: who, when, which run).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from zhixian.integration.bulk import RawJSON, among, bulk_insert
from zhixian.integration.models import Change, FieldConflict, LegalPerson, Person, Record
from zhixian.integration.prepare import Sealed, SealSpec
from zhixian.platform.crypto import FieldCipher, mask_id_number, mask_phone

__all__ = ["RawJSON", "among", "bulk_insert"]


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


def _differing(first: dict[str, Any], values: dict[str, Any], key_field: str) -> dict[str, tuple[Any, Any]]:
    return {
        name: (as_text(first.get(name)), as_text(values.get(name)))
        for name in sorted(set(first) | set(values))
        if name != key_field and as_text(first.get(name)) != as_text(values.get(name))
    }


class RecordLoader:
    """Departmental resources: one row per key value; the supplying department owns the whole row."""

    def apply(
        self, session: Session, ctx: LoadContext, rows: list[dict[str, Any]], numbers: list[int] | None = None
    ) -> Counts:
        counts = Counts()
        numbers = numbers if numbers is not None else [0] * len(rows)
        keys = [str(r[ctx.key_field]) for r in rows]
        existing = {
            rec.key: rec
            for rec in session.execute(
                select(Record.id, Record.key, Record.content_hash, Record.last_run_id, Record.last_row).where(
                    Record.resource_id == ctx.resource_id, among(session, Record.key, set(keys))
                )
            ).all()
        }
        seen: dict[str, tuple[int, str, dict[str, Any]]] = {}
        inserts: list[dict[str, Any]] = []
        updates: list[tuple[Any, dict[str, Any]]] = []
        earlier: list[tuple[Any, int, str, dict[str, Any]]] = []  # held against a row of an earlier batch
        touched: list[dict[str, Any]] = []
        for key, values, number in zip(keys, rows, numbers, strict=True):
            digest = content_hash(values)
            first = seen.get(key)
            old = existing.get(key)
            if first is None and old is not None and old.last_run_id == ctx.run_id:
                if old.content_hash == digest:
                    counts.duplicates += 1
                else:
                    earlier.append((old, number, key, values))
                continue
            if first is not None:
                if first[1] == digest:
                    counts.duplicates += 1
                else:
                    counts.held.append(Held(number, first[0], key, values, _differing(first[2], values, ctx.key_field)))
                continue
            seen[key] = (number, digest, values)
            if old is None:
                inserts.append(
                    {
                        "resource_id": ctx.resource_id,
                        "key": key,
                        "data": values,
                        "content_hash": digest,
                        "source_id": ctx.source_id,
                        "first_run_id": ctx.run_id,
                        "last_run_id": ctx.run_id,
                        "last_row": number,
                        "updated_at": ctx.now,
                    }
                )
                counts.loaded += 1
            elif old.content_hash == digest:
                touched.append({"id": old.id, "last_run_id": ctx.run_id, "last_row": number})
                counts.unchanged += 1
            else:
                updates.append(
                    (
                        old,
                        {
                            "id": old.id,
                            "data": values,
                            "content_hash": digest,
                            "last_run_id": ctx.run_id,
                            "last_row": number,
                            "source_id": ctx.source_id,
                            "updated_at": ctx.now,
                        },
                    )
                )
                counts.updated += 1
        self._write(session, ctx, counts, inserts, updates, earlier, touched)
        return counts

    def _write(
        self,
        session: Session,
        ctx: LoadContext,
        counts: Counts,
        inserts: list[dict[str, Any]],
        updates: list[tuple[Any, dict[str, Any]]],
        earlier: list[tuple[Any, int, str, dict[str, Any]]],
        touched: list[dict[str, Any]],
    ) -> None:
        """The batch's writes; the values updates replace go to the history, rows held get both values."""
        wanted = [old.id for old, _ in updates] + [old.id for old, *_ in earlier]
        before: dict[int, dict[str, Any]] = (
            dict(session.execute(select(Record.id, Record.data).where(among(session, Record.id, wanted))).all())
            if wanted
            else {}
        )
        changes = [
            ctx.change("record", old.id, name, was, now)
            for old, new in updates
            for name, (was, now) in _differing(before.get(old.id, {}), new["data"], "").items()
        ]
        for old, number, key, values in earlier:
            counts.held.append(
                Held(number, old.last_row, key, values, _differing(before.get(old.id, {}), values, ctx.key_field))
            )
        if inserts:
            bulk_insert(session, Record, inserts)
        if updates:
            session.execute(update(Record), [new for _, new in updates])
        if touched:
            session.execute(update(Record), touched)
        if changes:
            bulk_insert(session, Change, changes)


@dataclass(frozen=True)
class EntitySpec:
    model: type[Person] | type[LegalPerson]
    entity: str
    key_field: str
    plain: tuple[str, ...]
    dates: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    encrypted_key: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        return (*self.plain, *self.dates, *self.numbers, "phone")


PERSON = EntitySpec(
    Person, "person", "id_number", ("name", "gender", "address", "division_code"), ("birth_date",), encrypted_key=True
)
LEGAL = EntitySpec(
    LegalPerson, "legal", "uscc", ("name", "legal_rep", "address", "division_code"), ("established",), ("capital",)
)


def _typed(spec: EntitySpec, name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in spec.dates:
        return date.fromisoformat(str(value)[:10])
    if name in spec.numbers:
        return float(value)
    return value


def current_value(spec: EntitySpec, cipher: FieldCipher, row: Any, name: str) -> Any:  # noqa: ARG001 - the signature is fixed by its caller
    """A field of a stored person or legal person as text would show it (the phone decrypted)."""
    if name == "phone":
        return cipher.decrypt(row.phone_enc, index=row.phone_index) if row.phone_enc else None
    value = getattr(row, name)
    return None if value == "" else value


class EntityLoader:
    """人口/法人: one record per ID number or USCC, merged across departments with per-field provenance."""

    def __init__(self, spec: EntitySpec) -> None:
        self.spec = spec

    def _key_value(self, ctx: LoadContext, key: str) -> str:
        return ctx.cipher.blind_index(key) if self.spec.encrypted_key else key

    def seal_spec(self, fields: list[str]) -> SealSpec:
        return SealSpec(self.spec.key_field, self.spec.encrypted_key, "phone" in fields)

    def apply(
        self,
        session: Session,
        ctx: LoadContext,
        rows: list[dict[str, Any]],
        sealed: list[Sealed] | None = None,
        numbers: list[int] | None = None,
    ) -> Counts:
        """sealed: the rows' key index and ciphertexts computed ahead (prepare.seal_rows), else done here."""
        spec, model = self.spec, cast("Any", self.spec.model)
        key_col = model.id_index if spec.encrypted_key else model.uscc
        counts = Counts()
        numbers = numbers if numbers is not None else [0] * len(rows)
        keyed: list[tuple[str, dict[str, Any], Sealed | None]]
        if sealed is None:
            keyed = [(self._key_value(ctx, str(r[spec.key_field])), r, None) for r in rows]
        else:
            keyed = [(s[0], r, s) for r, s in zip(rows, sealed, strict=True)]
        keys = {k for k, _, _ in keyed}
        found = session.execute(select(model).where(among(session, key_col, keys))).scalars().all()
        existing = {(p.id_index if spec.encrypted_key else p.uscc): p for p in found}
        mapped = set(ctx.fields)
        seen: dict[str, tuple[int, str, dict[str, Any]]] = {}
        inserts: list[dict[str, Any]] = []
        touched: list[dict[str, Any]] = []
        conflicts: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        mark = {"dept": ctx.department_id, "run": ctx.run_id, "source": ctx.source_id}
        provenance_docs: dict[tuple[str, ...], RawJSON] = {}
        for (key, values, seal), number in zip(keyed, numbers, strict=True):
            digest = content_hash(values)
            first = seen.get(key)
            row = existing.get(key)
            if first is not None or (row is not None and row.last_run_id == ctx.run_id):
                self._repeat(ctx, counts, key, values, number, digest, first, row)
                continue
            seen[key] = (number, digest, values)
            if row is None:
                inserts.append(self._new(ctx, key, values, mapped, mark, provenance_docs, seal, digest, number))
                counts.loaded += 1
                continue
            changed, new_conflicts = self._merge(session, ctx, row, values, mapped, mark, changes)
            conflicts.extend(new_conflicts)
            counts.conflicts += len(new_conflicts)
            if changed:
                row.last_run_id, row.updated_at, row.content_hash, row.last_row = ctx.run_id, ctx.now, digest, number
                counts.updated += 1
            else:
                touched.append({"id": row.id, "last_run_id": ctx.run_id, "content_hash": digest, "last_row": number})
                counts.unchanged += 1
        if inserts:
            bulk_insert(session, model, inserts)
        if touched:
            session.execute(update(model), touched)
        if conflicts:
            bulk_insert(session, FieldConflict, conflicts)
        session.flush()
        if changes:
            bulk_insert(session, Change, changes)
        return counts

    def _repeat(
        self,
        ctx: LoadContext,
        counts: Counts,
        key: str,  # noqa: ARG002 - the signature is fixed by the base class
        values: dict[str, Any],
        number: int,
        digest: str,
        first: tuple[int, str, dict[str, Any]] | None,
        row: Any,
    ) -> None:
        """The key was already read in this run: identical → duplicate, otherwise held with both values."""
        if first is not None:
            if first[1] == digest:
                counts.duplicates += 1
                return
            fields = _differing(first[2], values, self.spec.key_field)
            other = first[0]
        else:
            if row.content_hash == digest:
                counts.duplicates += 1
                return
            stored = {n: current_value(self.spec, ctx.cipher, row, n) for n in values if n != self.spec.key_field}
            fields = _differing(stored, values, self.spec.key_field)
            other = row.last_row
        counts.held.append(Held(number, other, str(values[self.spec.key_field]), values, fields))

    def _new(
        self,
        ctx: LoadContext,
        key: str,
        values: dict[str, Any],
        mapped: set[str],
        mark: dict[str, int],
        provenance_docs: dict[tuple[str, ...], RawJSON],
        seal: Sealed | None,
        digest: str,
        number: int,
    ) -> dict[str, Any]:
        spec = self.spec
        raw_key = str(values[spec.key_field])
        out: dict[str, Any] = {
            "first_run_id": ctx.run_id,
            "last_run_id": ctx.run_id,
            "last_row": number,
            "content_hash": digest,
            "updated_at": ctx.now,
        }
        if spec.encrypted_key:
            key_enc = seal[1] if seal is not None else ctx.cipher.encrypt(raw_key)
            out.update(id_index=key, id_enc=key_enc, id_masked=mask_id_number(raw_key))
        else:
            out["uscc"] = key
        present = [spec.key_field]
        for name in spec.plain:
            value = values.get(name) if name in mapped else None
            out[name] = "" if value is None else value
            if value is not None:
                present.append(name)
        for name in (*spec.dates, *spec.numbers):
            value = values.get(name) if name in mapped else None
            out[name] = None if value is None else _typed(spec, name, value)
            if value is not None:
                present.append(name)
        phone = values.get("phone") if "phone" in mapped else None
        if seal is not None:
            out["phone_enc"], out["phone_index"] = seal[2], seal[3]
        else:
            out["phone_enc"] = ctx.cipher.encrypt(phone) if phone else None
            out["phone_index"] = ctx.cipher.blind_index(phone) if phone else ""
        out["phone_masked"] = mask_phone(phone) if phone else ""
        if phone:
            present.append("phone")
        shape = tuple(present)  # every field of a new row has the same mark: one document per shape and batch
        doc = provenance_docs.get(shape)
        if doc is None:
            doc = provenance_docs[shape] = RawJSON(json.dumps(dict.fromkeys(shape, mark), ensure_ascii=False))
        out["provenance"] = doc
        return out

    def _merge(
        self,
        session: Session,
        ctx: LoadContext,
        row: Any,
        values: dict[str, Any],
        mapped: set[str],
        mark: dict[str, int],
        changes: list[dict[str, Any]],
    ) -> tuple[bool, list[dict[str, Any]]]:
        spec = self.spec
        provenance = dict(row.provenance or {})
        changed = False
        conflicts: list[dict[str, Any]] = []
        for name in spec.fields:
            incoming = values.get(name) if name in mapped else None
            if incoming is None:
                continue
            if name == "phone":
                current_index = row.phone_index
                same = current_index == ctx.cipher.blind_index(incoming)
                empty = not current_index
            else:
                current = getattr(row, name)
                typed = _typed(spec, name, incoming)
                same = current == typed
                empty = current in (None, "")
            if same:
                continue
            owner = (provenance.get(name) or {}).get("dept")
            if empty or owner in (None, ctx.department_id):
                entity_id = row.id
                changes.append(
                    ctx.change(spec.entity, entity_id, name, current_value(spec, ctx.cipher, row, name), incoming)
                )
                self._set(ctx, row, name, incoming)
                provenance[name] = mark
                changed = True
                continue
            digest = ctx.cipher.blind_index(f"{name}:{incoming}")
            dup = session.execute(
                select(FieldConflict.id).where(
                    FieldConflict.entity == spec.entity,
                    FieldConflict.entity_id == row.id,
                    FieldConflict.field == name,
                    FieldConflict.incoming_hash == digest,
                )
            ).first()
            if dup is None and not any(c["entity_id"] == row.id and c["incoming_hash"] == digest for c in conflicts):
                current_text = as_text(current_value(spec, ctx.cipher, row, name)) or ""
                conflicts.append(
                    {
                        "entity": spec.entity,
                        "entity_id": row.id,
                        "field": name,
                        "current_enc": ctx.cipher.encrypt(current_text),
                        "current_department_id": owner,
                        "incoming_enc": ctx.cipher.encrypt(str(incoming)),
                        "incoming_hash": digest,
                        "incoming_department_id": ctx.department_id,
                        "run_id": ctx.run_id,
                        "owner_department_id": ctx.owner_department_id,
                        "status": "open",
                        "created_at": ctx.now,
                    }
                )
        if changed:
            row.provenance = provenance
        return changed, conflicts

    def _set(self, ctx: LoadContext, row: Any, name: str, value: Any) -> None:
        set_value(self.spec, ctx.cipher, row, name, value)


def set_value(spec: EntitySpec, cipher: FieldCipher, row: Any, name: str, value: Any) -> None:
    if name == "phone":
        row.phone_enc = cipher.encrypt(value)
        row.phone_index = cipher.blind_index(value)
        row.phone_masked = mask_phone(value)
    else:
        setattr(row, name, _typed(spec, name, value))


def apply_value(
    session: Session, spec: EntitySpec, ctx: LoadContext, row: Any, name: str, value: str, mark: dict[str, Any]
) -> None:
    """A department resolves a conflict by taking the incoming value: kept in the record's history too."""
    old = current_value(spec, ctx.cipher, row, name)
    set_value(spec, ctx.cipher, row, name, value)
    provenance = dict(row.provenance or {})
    provenance[name] = mark
    row.provenance = provenance
    row.updated_at = ctx.now
    session.add(Change(**ctx.change(spec.entity, row.id, name, old, value)))


def loader_for(base_library: str) -> RecordLoader | EntityLoader:
    if base_library == "人口":
        return EntityLoader(PERSON)
    if base_library == "法人":
        return EntityLoader(LEGAL)
    return RecordLoader()
