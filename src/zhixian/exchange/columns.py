"""Rows of one resource a column at a time: what the renderer masks and a bulk export discloses.

A bulk export's batch of plain rows is turned into columns by one transpose (no attribute lookup per
cell); a query's ORM rows by attribute. Each function means exactly what its per-row twin in ``records``
means (``raw_values``, ``stored_mask``, ``decrypted``, ``subject``), with the same field maps.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Row

from zhixian.exchange import records, sources
from zhixian.platform.crypto import FieldCipher


@dataclass(frozen=True)
class Columns:
    """The values of ``size`` rows of one kind, by column name."""

    kind: sources.Kind
    size: int
    values: dict[str, Sequence[Any]]

    def __getitem__(self, name: str) -> Sequence[Any]:
        return self.values[name]

    def take(self, where: Sequence[int]) -> Columns:
        """The rows at these positions."""
        return Columns(self.kind, len(where), {n: [v[i] for i in where] for n, v in self.values.items()})


def of(source: sources.Source, rows: Sequence[Any], names: Collection[str]) -> Columns:
    """``rows`` (plain rows of ``sources.batch`` or ORM rows) as columns; ORM rows give ``names`` only."""
    if not rows:
        return Columns(source.kind, 0, {})
    first = rows[0]
    kind = sources.row_kind(source, first)
    if isinstance(first, Row):
        return Columns(kind, len(rows), dict(zip(first._fields, zip(*rows, strict=True), strict=True)))
    return Columns(kind, len(rows), {n: [getattr(r, n) for r in rows] for n in names if hasattr(first, n)})


def needed(source: sources.Source, fields: Collection[str]) -> set[str]:
    """The columns ``clear``, ``stored_masks``, ``decrypted`` and ``subjects`` read for these fields."""
    if source.kind == "record":
        return {"id", "data", "key"}
    out = {"id", *(f for f in fields if f in records.CLEAR[source.kind])}
    for name in fields:
        if name in records.STORED and name in records.encrypted_fields(source):
            enc, masked = records.STORED[name]
            out |= {enc, masked, "id_index" if name == "id_number" else "phone_index"}
    out.add("id_index" if source.kind == "person" else "uscc")  # the subject; a sole trader is masked as a person
    return out


def clear(source: sources.Source, cols: Columns, name: str) -> list[Any]:
    """``raw_values(row).get(name)`` of every row."""
    if cols.kind == "record":
        data, keys = cols["data"], cols["key"]
        if name == source.key_field:
            return [d[name] if name in (d := x or {}) else k for x, k in zip(data, keys, strict=True)]
        return [(x or {}).get(name) for x in data]
    if name not in records.CLEAR[cols.kind]:
        return [None] * cols.size
    return list(cols[name])


def stored_masks(source: sources.Source, cols: Columns, name: str) -> list[str | None]:
    """``stored_mask(row, name)`` of every row."""
    spec = records.STORED.get(name)
    if spec is None or cols.kind == "record" or name not in records.encrypted_fields(source):
        return [None] * cols.size
    return [str(v) for v in cols[spec[1]]]


def decrypted(source: sources.Source, cols: Columns, name: str, cipher: FieldCipher) -> list[str]:
    """``decrypted(row, name)`` of every row."""
    spec = records.STORED.get(name)
    if spec is None or cols.kind == "record" or name not in records.encrypted_fields(source):
        raise KeyError(name)
    index = cols["id_index" if name == "id_number" else "phone_index"]
    return [records.decrypt_value(cipher, name, e, i) for e, i in zip(cols[spec[0]], index, strict=True)]


def subjects(source: sources.Source, cols: Columns, cipher: FieldCipher) -> dict[str, list[str]]:
    """``subject(row)`` of every row, as subjects by kind (plain strings: a million of them cost the
    garbage collector nothing, a million tuples do). Persons' blind indexes are read as stored."""
    if cols.kind == "person":
        return {"person": list(cols["id_index"])}
    if cols.kind == "legal":
        return {"legal": [cipher.blind_index(u) for u in cols["uscc"]]}
    out: dict[str, list[str]] = {}
    for d, k in zip(cols["data"], cols["key"], strict=True):
        kind, subject = records.record_subject(source, d, k, cipher)
        out.setdefault(kind, []).append(subject)
    return out
