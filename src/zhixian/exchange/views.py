"""What a consumer receives of one record: only granted items, masked per item grade and grant.

The rules are the platform's (``zhixian.platform.masking``) applied per field, then across the fields
returned together: a masked ID number is never sent beside the full birth date it contains, whatever
the grant says about the birth date. Only items a grant names in ``plain_items`` are sent unmasked, and
encrypted ones are decrypted only then.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from zhixian.exchange import columns, policy, records, sources
from zhixian.platform import masking
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _json_column(values: list[Any]) -> list[Any]:
    """``_json`` of every value; a column without dates (most) is returned as it is."""
    if not any(issubclass(t, date) for t in set(map(type, values))):
        return values
    return [_json(v) for v in values]


def _grade(item: sources.Item) -> policy.ItemGrade:
    return policy.ItemGrade(item.field, item.grade, item.sensitivity, item.masking)


def masked_fields(
    source: sources.Source, fields: Sequence[str], plain: Collection[str], settings: Settings
) -> set[str]:
    """The fields that go out masked under this grant (a sole trader's address too: see legal_kinds)."""
    kinds = records.static_kinds(source)
    out = set()
    for name in fields:
        item = source.items.get(name)
        if name in plain:
            continue
        if name in kinds or (item is not None and policy.masked_by_default(_grade(item), settings)):
            out.add(name)
    return out


_MEMO_TYPES = {str, date, type(None)}  # values told apart by equality: safe to memoise by value

# how one field of a record goes out (see Renderer._plan)
_PLAIN_ENC, _AS_IS, _STORED, _KIND, _HIDE, _BIRTH = range(6)  # _AS_IS: plain or not personal


class Renderer:
    """The masking of one grant's answer, decided once per field and applied a column at a time: a query's
    page and a bulk export's millions of rows go through the same ``columns``, so they cannot differ."""

    def __init__(
        self,
        source: sources.Source,
        fields: Sequence[str],
        plain: Collection[str],
        cipher: FieldCipher,
        settings: Settings,
    ) -> None:
        self.source, self.fields, self.plain, self.cipher = source, list(fields), set(plain), cipher
        self.static = records.static_kinds(source)
        self.by_default = {
            name
            for name in self.fields
            if (item := source.items.get(name)) is not None and policy.masked_by_default(_grade(item), settings)
        }
        self.encrypted = set(records.encrypted_fields(source))
        self._plans: dict[bool, list[tuple[str, int, Any]]] = {}
        # masks are pure functions of the value, and names, addresses and birth years repeat a great deal:
        # each distinct value of a column is masked once (per kind, kept across a bulk export's batches)
        self._memo: dict[str, dict[Any, str]] = {}

    def columns_read(self) -> set[str]:
        """The row columns rendering reads (a bulk export fetches only these)."""
        return columns.needed(self.source, self.fields)

    def _masks(self, kind: masking.FieldKind, values: list[Any]) -> list[str]:
        """``mask_value(kind, v)`` for each value, computed once per distinct value."""
        if not set(map(type, values)) <= _MEMO_TYPES:  # 1 == 1.0 == True, a JSON list is unhashable
            return [masking.mask_value(kind, v) for v in values]
        memo = self._memo.setdefault(kind, {})
        missing = set(values).difference(memo)
        if len(memo) + len(missing) > 200_000:
            memo.clear()
            missing = set(values)
        for value in missing:
            memo[value] = masking.mask_value(kind, value)
        return list(map(memo.__getitem__, values))

    def _plan(self, kinds: dict[str, masking.FieldKind]) -> list[tuple[str, int, Any]]:
        """(field, how, kind) per field, in order; a masked ID number coarsens the birth date beside it."""
        plan: list[tuple[str, int, Any]] = []
        masked_ids = False
        for name in self.fields:
            kind = kinds.get(name)
            if name in self.plain:
                plan.append((name, _PLAIN_ENC if name in self.encrypted else _AS_IS, None))
                continue
            if name in self.encrypted:
                plan.append((name, _STORED, None))
            elif kind is not None and kind != "birth_date":
                plan.append((name, _KIND, kind))
            elif name in self.by_default:
                plan.append((name, _HIDE, None))
            else:
                plan.append((name, _AS_IS, None))
            masked_ids = masked_ids or kind == "id_number"
        if masked_ids:
            # the birth date is the masked ID's hidden middle: coarsened to the year, as on every platform page
            births = {
                n for n in self.fields if kinds.get(n) == "birth_date" or (n in self.source.items and "birth" in n)
            }
            plan = [(n, _BIRTH, None) if n in births else (n, how, k) for n, how, k in plan]
        return plan

    def _plan_for(self, *, key: bool, uscc: str) -> list[tuple[str, int, Any]]:
        plan = self._plans.get(key)
        if plan is None:
            kinds = records.legal_kinds(self.static, uscc) if self.source.kind == "legal" else self.static
            plan = self._plans[key] = self._plan(kinds)
        return plan

    def _column(self, cols: columns.Columns, name: str, how: int, kind: Any) -> list[Any]:
        if how == _STORED:
            return columns.stored_masks(self.source, cols, name)
        if how == _PLAIN_ENC:
            return columns.decrypted(self.source, cols, name, self.cipher)
        values = columns.clear(self.source, cols, name)
        if how == _AS_IS:
            return _json_column(values)
        if how == _KIND:
            return self._masks(kind, values)
        if how == _BIRTH:
            return [m or None for m in self._masks("birth_date", values)]
        return [masking.HIDDEN if v not in (None, "") else _json(v) for v in values]  # _HIDE

    def render_columns(self, cols: columns.Columns) -> list[list[Any]]:
        """The granted fields of the rows, a list per field in ``fields`` order, each masked unless
        delivered plain. A legal-person resource's rows split by whether they are sole traders."""
        if not cols.size:
            return [[] for _ in self.fields]
        if self.source.kind != "legal":
            plan = self._plan_for(key=False, uscc="")
            return [self._column(cols, name, how, kind) for name, how, kind in plan]
        usccs = [str(u) for u in cols["uscc"]]
        keys = [masking.is_individual_business(u) for u in usccs]
        out: list[list[Any]] = [[None] * cols.size for _ in self.fields]
        for key in set(keys):
            where = [i for i, k in enumerate(keys) if k == key]
            part = cols.take(where)
            plan = self._plan_for(key=key, uscc=usccs[where[0]])
            for column, (name, how, kind) in zip(out, plan, strict=True):
                for i, value in zip(where, self._column(part, name, how, kind), strict=True):
                    column[i] = value
        return out

    def columns(self, rows: Sequence[Any]) -> list[list[Any]]:
        """``render_columns`` of ORM or plain rows."""
        return self.render_columns(columns.of(self.source, rows, self.columns_read()))

    def records(self, rows: Sequence[Any]) -> list[dict[str, Any]]:
        """Each row as the grant allows, as a dict of its granted fields."""
        fields = self.fields
        if not fields:
            return [{} for _ in rows]
        return [dict(zip(fields, values, strict=True)) for values in zip(*self.columns(rows), strict=True)]

    def render(self, row: Any) -> dict[str, Any]:
        """One record as the grant allows: granted fields only, each masked unless delivered plain."""
        return {name: column[0] for name, column in zip(self.fields, self.columns([row]), strict=True)}


def record(
    source: sources.Source,
    row: sources.Row,
    fields: Sequence[str],
    plain: Collection[str],
    cipher: FieldCipher,
    settings: Settings,
) -> dict[str, Any]:
    """One record as the grant allows: granted fields only, each masked unless delivered plain."""
    return Renderer(source, fields, plain, cipher, settings).render(row)
