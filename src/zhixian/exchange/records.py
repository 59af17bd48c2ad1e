"""What one stored row of a resource holds, for the gateway's renderers: which fields are kept encrypted and
their stored masks, the clear values, the personal-field kinds that decide masking, and whose record it is (the
blind index disclosures are filed under). Reading the rows is ``sources``; this module never queries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zhixian.exchange.sources import ENCRYPTED, NO_SOURCE, Row, Source, normalise_key, row_kind
from zhixian.platform import masking
from zhixian.platform.crypto import FieldCipher


def encrypted_fields(source: Source) -> tuple[str, ...]:
    """The items of this resource kept encrypted (masks stored beside them, decrypted only for plain grants)."""
    return ENCRYPTED[source.kind]


# the fields of a base-database row stored in clear, by kind (departmental records: their JSON data)
CLEAR: dict[str, tuple[str, ...]] = {
    "person": ("name", "gender", "birth_date", "address", "division_code"),
    "legal": ("uscc", "name", "legal_rep", "address", "established", "capital", "division_code"),
}
# an encrypted field: (the ciphertext's column, the stored mask's column)
STORED: dict[str, tuple[str, str]] = {"id_number": ("id_enc", "id_masked"), "phone": ("phone_enc", "phone_masked")}


def raw_values(source: Source, row: Any) -> dict[str, Any]:
    """The row's values that are stored in clear (encrypted fields are left out).

    ``row`` is an ORM row or a plain row of ``batch`` (attributes by column name)."""
    kind = row_kind(source, row)
    if kind == "record":
        values = dict(row.data or {})
        values.setdefault(source.key_field, row.key)
        return values
    return {name: getattr(row, name) for name in CLEAR[kind]}


def stored_mask(row: Any, name: str) -> str | None:
    """The mask kept beside an encrypted field (None if the field is not encrypted)."""
    spec = STORED.get(name)
    return str(getattr(row, spec[1])) if spec is not None and hasattr(row, spec[0]) else None


def decrypted(row: Any, name: str, cipher: FieldCipher) -> str:
    """An encrypted field in clear, for a grant that delivers it unmasked (checked against its index)."""
    if name == "id_number" and hasattr(row, "id_enc"):
        return decrypt_value(cipher, name, row.id_enc, row.id_index)
    if name == "phone" and hasattr(row, "phone_enc"):
        return decrypt_value(cipher, name, row.phone_enc, row.phone_index)
    raise KeyError(name)


def decrypt_value(cipher: FieldCipher, name: str, ciphertext: str | None, index: str | None) -> str:
    """One encrypted value in clear, checked against its blind index (a missing phone is empty)."""
    if name == "phone" and not ciphertext:
        return ""
    return cipher.decrypt(str(ciphertext), index=index)


def static_kinds(source: Source) -> dict[str, masking.FieldKind]:
    """The kinds that hold for every row of the resource (for documentation and grant pages)."""
    out: dict[str, masking.FieldKind] = {}
    if source.kind == "person":
        out.update(masking.PERSON_KINDS)
    elif source.kind == "legal":
        out.update(masking.legal_kinds(""))
    for name, item in source.items.items():
        if item.masking in masking.CATALOG_KINDS:
            out.setdefault(name, masking.CATALOG_KINDS[item.masking])
        elif item.rule == "身份证号":
            out.setdefault(name, "id_number")
    return out


def kinds(source: Source, row: Any, static: dict[str, masking.FieldKind] | None = None) -> dict[str, masking.FieldKind]:
    """The personal-field kinds of this row: the platform's person/legal rules plus the catalogue labels
    (``static``: ``static_kinds(source)`` computed once for a batch of rows)."""
    out = dict(static) if static is not None else static_kinds(source)
    if row_kind(source, row) == "legal":
        out.update(masking.legal_kinds(row.uscc))
    return out


def legal_kinds(static: dict[str, masking.FieldKind], uscc: str) -> dict[str, masking.FieldKind]:
    """``kinds`` of a legal-person row with this USCC."""
    return {**static, **masking.legal_kinds(uscc)}


def subject(source: Source, row: Any, cipher: FieldCipher) -> tuple[str, str]:
    """Whose record this is, as a blind index (never the number itself): (kind, index)."""
    kind = row_kind(source, row)
    if kind == "person":
        return "person", row.id_index
    if kind == "legal":
        return "legal", cipher.blind_index(row.uscc)
    return record_subject(source, row.data, row.key, cipher)


def record_subject(source: Source, data: Mapping[str, Any] | None, key: str, cipher: FieldCipher) -> tuple[str, str]:
    """``subject`` of a departmental record: the person its ID-number item names, else the record itself."""
    for name, item in source.items.items():
        value = (data or {}).get(name)
        if item.rule == "身份证号" and value:
            return "person", cipher.blind_index(normalise_key(source, "id_number", str(value)))
    return "record", cipher.blind_index(f"{source.resource_id}:{key}")


def subject_index(cipher: FieldCipher, id_number: str) -> str:
    """The blind index a person's disclosures are filed under."""
    return cipher.blind_index(id_number)


def row_id(row: Row) -> int:
    return int(row.id)


def filter_values(source: Source, row: Row) -> dict[str, Any]:
    """What a grant's row filter is judged on (row filters only use fields stored in clear)."""
    return raw_values(source, row)


def library_values(row: Row) -> dict[str, Any]:
    """The clear fields of a base-database row (人口 or 法人), for judging a row filter."""
    if row_kind(NO_SOURCE, row) == "record":
        raise TypeError("departmental records are judged with their resource")
    return raw_values(NO_SOURCE, row)
