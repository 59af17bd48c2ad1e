"""Loading clean rows: departmental records by key, and the 人口/法人 base databases with entity resolution.

Each batch is fetched with one query per table and written with executemany, so a million rows
cost a few hundred round trips. A value already supplied by another department is never
overwritten: the disagreement becomes a FieldConflict for the owning department to settle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import JSON, ColumnElement, Text, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from zhixian.integration.models import FieldConflict, LegalPerson, Person, Record
from zhixian.integration.prepare import Sealed, SealSpec
from zhixian.platform.crypto import FieldCipher, mask_id_number, mask_phone


class RawJSON(str):
    """A JSON column value already encoded: many rows of a batch share one provenance document."""

    __slots__ = ()


def _scalar_defaults(table: Any, given: dict[str, Any]) -> dict[str, Any]:
    """Column defaults Core would fill for columns the rows leave out (callable defaults are never left out)."""
    return {
        c.name: c.default.arg
        for c in table.columns
        if c.name not in given and not c.primary_key and c.default is not None and c.default.is_scalar
    }


def _sqlite_insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """Plain-tuple executemany through the DBAPI, each value converted by its column type's own bind
    processor (the same one Core applies), so what lands on disk is identical to a Core insert."""
    fill = _scalar_defaults(table, rows[0])
    columns = [*rows[0], *fill]
    dialect = conn.dialect
    processors = [
        None if isinstance(rows[0].get(c, fill.get(c)), RawJSON) else _processor(table.c[c].type, dialect)
        for c in columns
    ]
    given = list(rows[0])
    defaults = tuple(fill.values())
    active = [(i, p) for i, p in enumerate(processors) if p is not None]
    params: list[tuple[Any, ...]] = []
    append = params.append
    for row in rows:
        values = [row[c] for c in given]
        values.extend(defaults)
        for i, proc in active:
            values[i] = proc(values[i])
        append(tuple(values))
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    marks = ", ".join(["?"] * len(columns))
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608 - names from the model
    conn.exec_driver_sql(sql, params)


def _processor(type_: Any, dialect: Any) -> Any:
    return type_.dialect_impl(dialect).bind_processor(dialect)


def bulk_insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """COPY on PostgreSQL, DBAPI executemany elsewhere: the ORM's per-row bookkeeping costs more than the load."""
    table = model.__table__
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        _sqlite_insert(conn, table, rows)
        return
    if conn.dialect.name != "postgresql":
        raw_json = [c for c, v in rows[0].items() if isinstance(v, RawJSON)]
        stmt = table.insert()
        if raw_json:  # bind as text, so the JSON type does not encode it again
            stmt = stmt.values({c: bindparam(c, type_=Text()) for c in raw_json})
        conn.execute(stmt, rows)
        return
    columns = list(rows[0])
    fill = _scalar_defaults(table, rows[0])
    columns += list(fill)
    rows = [row | fill for row in rows] if fill else rows
    json_cols = {c.name for c in table.columns if isinstance(c.type, JSON)}
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[c], ensure_ascii=False, default=str)
                    if c in json_cols and row[c] is not None and not isinstance(row[c], RawJSON)
                    else row[c]
                    for c in columns
                ]
            )


def among(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """column IN values, bound as one parameter (a JSON array on SQLite, an array on PostgreSQL): a batch
    of twenty thousand keys compiles and plans like a batch of one."""
    dialect = session.get_bind().dialect.name
    items = list(values)
    if dialect == "sqlite":
        table = func.json_each(
            bindparam("among", json.dumps(items, default=str), type_=Text(), unique=True)
        ).table_valued("value")
        clause: ColumnElement[bool] = column.in_(select(table.c.value))
    elif dialect == "postgresql":
        clause = column == any_(bindparam("among", items, type_=ARRAY(column.type), unique=True))
    else:
        clause = column.in_(items)
    return clause


def content_hash(values: dict[str, Any]) -> str:
    raw = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.blake2b(raw, digest_size=20).hexdigest()


@dataclass
class Counts:
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    conflicts: int = 0

    def add(self, other: Counts) -> None:
        for name in ("loaded", "updated", "unchanged", "duplicates", "conflicts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


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


class RecordLoader:
    """Departmental resources: one row per key value; the supplying department owns the whole row."""

    def apply(self, session: Session, ctx: LoadContext, rows: list[dict[str, Any]]) -> Counts:
        counts = Counts()
        keys = [str(r[ctx.key_field]) for r in rows]
        existing = {
            rec.key: rec
            for rec in session.execute(
                select(Record.id, Record.key, Record.content_hash, Record.last_run_id).where(
                    Record.resource_id == ctx.resource_id, among(session, Record.key, set(keys))
                )
            ).all()
        }
        seen: set[str] = set()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        touched: list[int] = []
        for key, values in zip(keys, rows, strict=True):
            if key in seen:
                counts.duplicates += 1
                continue
            seen.add(key)
            digest = content_hash(values)
            old = existing.get(key)
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
                        "updated_at": ctx.now,
                    }
                )
                counts.loaded += 1
            elif old.last_run_id == ctx.run_id:
                counts.duplicates += 1
            elif old.content_hash == digest:
                touched.append(old.id)
                counts.unchanged += 1
            else:
                updates.append(
                    {
                        "id": old.id,
                        "data": values,
                        "content_hash": digest,
                        "last_run_id": ctx.run_id,
                        "source_id": ctx.source_id,
                        "updated_at": ctx.now,
                    }
                )
                counts.updated += 1
        if inserts:
            bulk_insert(session, Record, inserts)
        if updates:
            session.execute(update(Record), updates)
        if touched:
            session.execute(update(Record).where(among(session, Record.id, touched)).values(last_run_id=ctx.run_id))
        return counts


@dataclass(frozen=True)
class EntitySpec:
    model: type[Person] | type[LegalPerson]
    entity: str
    key_field: str
    plain: tuple[str, ...]
    dates: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    encrypted_key: bool = False


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


class EntityLoader:
    """人口/法人: one record per ID number or USCC, merged across departments with per-field provenance."""

    def __init__(self, spec: EntitySpec) -> None:
        self.spec = spec

    def _key_value(self, ctx: LoadContext, key: str) -> str:
        return ctx.cipher.blind_index(key) if self.spec.encrypted_key else key

    def seal_spec(self, fields: list[str]) -> SealSpec:
        return SealSpec(self.spec.key_field, self.spec.encrypted_key, "phone" in fields)

    def apply(
        self, session: Session, ctx: LoadContext, rows: list[dict[str, Any]], sealed: list[Sealed] | None = None
    ) -> Counts:
        """sealed: the rows' key index and ciphertexts computed ahead (prepare.seal_rows), else done here."""
        spec, model = self.spec, cast("Any", self.spec.model)
        key_col = model.id_index if spec.encrypted_key else model.uscc
        counts = Counts()
        keyed: list[tuple[str, dict[str, Any], Sealed | None]]
        if sealed is None:
            keyed = [(self._key_value(ctx, str(r[spec.key_field])), r, None) for r in rows]
        else:
            keyed = [(s[0], r, s) for r, s in zip(rows, sealed, strict=True)]
        keys = {k for k, _, _ in keyed}
        found = session.execute(select(model).where(among(session, key_col, keys))).scalars().all()
        existing = {(p.id_index if spec.encrypted_key else p.uscc): p for p in found}
        mapped = set(ctx.fields)
        seen: set[str] = set()
        inserts: list[dict[str, Any]] = []
        touched: list[int] = []
        conflicts: list[dict[str, Any]] = []
        mark = {"dept": ctx.department_id, "run": ctx.run_id, "source": ctx.source_id}
        provenance_docs: dict[tuple[str, ...], RawJSON] = {}
        for key, values, seal in keyed:
            if key in seen:
                counts.duplicates += 1
                continue
            seen.add(key)
            row = existing.get(key)
            if row is None:
                inserts.append(self._new(ctx, key, values, mapped, mark, provenance_docs, seal))
                counts.loaded += 1
                continue
            if row.last_run_id == ctx.run_id:
                counts.duplicates += 1
                continue
            changed, new_conflicts = self._merge(session, ctx, row, values, mapped, mark)
            conflicts.extend(new_conflicts)
            counts.conflicts += len(new_conflicts)
            if changed:
                row.last_run_id, row.updated_at = ctx.run_id, ctx.now
                counts.updated += 1
            else:
                touched.append(row.id)
                counts.unchanged += 1
        if inserts:
            bulk_insert(session, model, inserts)
        if touched:
            session.execute(update(model).where(among(session, model.id, touched)).values(last_run_id=ctx.run_id))
        if conflicts:
            bulk_insert(session, FieldConflict, conflicts)
        session.flush()
        return counts

    def _new(
        self,
        ctx: LoadContext,
        key: str,
        values: dict[str, Any],
        mapped: set[str],
        mark: dict[str, int],
        provenance_docs: dict[tuple[str, ...], RawJSON],
        seal: Sealed | None = None,
    ) -> dict[str, Any]:
        spec = self.spec
        raw_key = str(values[spec.key_field])
        out: dict[str, Any] = {"first_run_id": ctx.run_id, "last_run_id": ctx.run_id, "updated_at": ctx.now}
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
    ) -> tuple[bool, list[dict[str, Any]]]:
        spec = self.spec
        provenance = dict(row.provenance or {})
        changed = False
        conflicts: list[dict[str, Any]] = []
        for name in (*spec.plain, *spec.dates, *spec.numbers, "phone"):
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
                current_text = (
                    ctx.cipher.decrypt(row.phone_enc, index=row.phone_index)
                    if name == "phone"
                    else str(getattr(row, name))
                )
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
        if name == "phone":
            row.phone_enc = ctx.cipher.encrypt(value)
            row.phone_index = ctx.cipher.blind_index(value)
            row.phone_masked = mask_phone(value)
        else:
            setattr(row, name, _typed(self.spec, name, value))


def apply_value(spec: EntitySpec, cipher: FieldCipher, row: Any, name: str, value: str, mark: dict[str, int]) -> None:
    """Used when a department resolves a conflict by taking the incoming value."""
    loader = EntityLoader(spec)
    ctx_cipher = cipher
    if name == "phone":
        row.phone_enc, row.phone_index, row.phone_masked = (
            ctx_cipher.encrypt(value),
            cipher.blind_index(value),
            mask_phone(value),
        )
    else:
        setattr(row, name, _typed(loader.spec, name, value))
    provenance = dict(row.provenance or {})
    provenance[name] = mark
    row.provenance = provenance


def loader_for(base_library: str) -> RecordLoader | EntityLoader:
    if base_library == "人口":
        return EntityLoader(PERSON)
    if base_library == "法人":
        return EntityLoader(LEGAL)
    return RecordLoader()
