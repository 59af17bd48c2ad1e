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

from zhixian.exchange import policy, sources
from zhixian.platform import masking
from zhixian.platform.crypto import FieldCipher
from zhixian.settings import Settings


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _grade(item: sources.Item) -> policy.ItemGrade:
    return policy.ItemGrade(item.field, item.grade, item.sensitivity, item.masking)


def masked_fields(
    source: sources.Source, fields: Sequence[str], plain: Collection[str], settings: Settings
) -> set[str]:
    """The fields that go out masked under this grant (a sole trader's address too: see legal_kinds)."""
    kinds = sources.static_kinds(source)
    out = set()
    for name in fields:
        item = source.items.get(name)
        if name in plain:
            continue
        if name in kinds or (item is not None and policy.masked_by_default(_grade(item), settings)):
            out.add(name)
    return out


# how one field of a record goes out (see Renderer._plan)
_PLAIN_ENC, _AS_IS, _STORED, _KIND, _HIDE, _BIRTH = range(6)  # _AS_IS: plain or not personal


class Renderer:
    """The masking of one grant's answer, decided once per field and applied to each row: a query's
    page and a bulk export's millions of rows go through the same ``render``."""

    def __init__(
        self,
        source: sources.Source,
        fields: Sequence[str],
        plain: Collection[str],
        cipher: FieldCipher,
        settings: Settings,
    ) -> None:
        self.source, self.fields, self.plain, self.cipher = source, list(fields), set(plain), cipher
        self.static = sources.static_kinds(source)
        self.by_default = {
            name
            for name in self.fields
            if (item := source.items.get(name)) is not None and policy.masked_by_default(_grade(item), settings)
        }
        self.encrypted = set(sources.encrypted_fields(source))
        self._plans: dict[bool, list[tuple[str, int, Any]]] = {}
        # masks are pure functions of the value, and names, addresses and birth years repeat a great deal
        self._memo: dict[tuple[str, Any], str] = {}

    def _mask(self, kind: masking.FieldKind, value: Any) -> str:
        key = (kind, value)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) > 200_000:
                self._memo.clear()
            found = self._memo[key] = masking.mask_value(kind, value)
        return found

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

    def render(self, row: Any) -> dict[str, Any]:
        """One record as the grant allows: granted fields only, each masked unless delivered plain."""
        source = self.source
        raw = sources.raw_values(source, row)
        key = source.kind == "legal" and masking.is_individual_business(str(row.uscc))
        plan = self._plans.get(key)
        if plan is None:
            kinds = sources.kinds(source, row, self.static) if source.kind == "legal" else self.static
            plan = self._plans[key] = self._plan(kinds)
        out: dict[str, Any] = {}
        for name, how, kind in plan:
            if how == _AS_IS:
                out[name] = _json(raw.get(name))
            elif how == _KIND:
                out[name] = self._mask(kind, raw.get(name))
            elif how == _STORED:
                out[name] = sources.stored_mask(row, name)
            elif how == _BIRTH:
                out[name] = self._mask("birth_date", raw.get(name)) or None
            elif how == _HIDE:
                value = raw.get(name)
                out[name] = masking.HIDDEN if value not in (None, "") else _json(value)
            else:
                out[name] = sources.decrypted(row, name, self.cipher)
        return out


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
