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


class Renderer:
    """The masking of one grant's answer, set up once and applied to each row: a query's page and a
    bulk export's millions of rows go through the same ``render``."""

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
        self.births = [
            name
            for name in self.fields
            if self.static.get(name) == "birth_date" or (name in source.items and "birth" in name)
        ]

    def render(self, row: Any) -> dict[str, Any]:
        """One record as the grant allows: granted fields only, each masked unless delivered plain."""
        source = self.source
        raw = sources.raw_values(source, row)
        kinds = self.static if source.kind != "legal" else sources.kinds(source, row, self.static)
        out: dict[str, Any] = {}
        masked_ids = False
        for name in self.fields:
            stored = sources.stored_mask(row, name)
            kind = kinds.get(name)
            if name in self.plain:
                out[name] = sources.decrypted(row, name, self.cipher) if stored is not None else _json(raw.get(name))
                continue
            if stored is not None:
                out[name] = stored
            elif kind is not None and kind != "birth_date":
                out[name] = masking.mask_value(kind, raw.get(name))
            elif name in self.by_default and raw.get(name) not in (None, ""):
                out[name] = masking.HIDDEN
            else:
                out[name] = _json(raw.get(name))
            masked_ids = masked_ids or kind == "id_number"
        if masked_ids:
            # the birth date is the masked ID's hidden middle: coarsened to the year, as on every platform page
            for name in self.births:
                out[name] = masking.mask_value("birth_date", raw.get(name)) or None
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
