"""Loading the 人口/法人 base databases: one record per ID number or USCC, merged across departments.

Each field keeps its provenance (which department, run and source supplied it). A value already
supplied by another department is never overwritten: the disagreement becomes a FieldConflict for the
owning department to settle. ``EntitySpec`` says how each entity's fields are typed, read and written
(the phone encrypted with a blind index); corrections (``amend``) and conflict decisions (``basedata``)
use the same helpers. Apart from ``loaders`` because entity resolution is its own rule set, unlike a
departmental record that its supplier owns whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from zhixian.integration.bulk import RawJSON, among, bulk_insert
from zhixian.integration.load_context import Counts, Held, LoadContext, as_text, content_hash, differing
from zhixian.integration.models import Change, FieldConflict, LegalPerson, Person
from zhixian.integration.prepare import Sealed, SealSpec
from zhixian.platform.crypto import FieldCipher, mask_id_number, mask_phone


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
            fields = differing(first[2], values, self.spec.key_field)
            other = first[0]
        else:
            if row.content_hash == digest:
                counts.duplicates += 1
                return
            stored = {n: current_value(self.spec, ctx.cipher, row, n) for n in values if n != self.spec.key_field}
            fields = differing(stored, values, self.spec.key_field)
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
