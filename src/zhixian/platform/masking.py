"""One set of masking rules for personal data, applied to whole records (等保 items 16 and 20).

Masking a field on its own is not enough: a masked ID number shown beside the full birth date gives
the hidden digits away (area code + birth date + sequence are the first 17 digits). So the rules here
come in two layers:

* per field kind (``mask_value``): what one value looks like when masked;
* per record (``person_view``, ``legal_view``): the fields returned together, coarsened so that no
  combination rebuilds a masked one — the ID keeps only its first and last character, the birth date
  becomes the birth year, an address stops at the community/street, a name keeps only the surname.

Every page, API and export that shows base-database records uses these views; the exchange gateway
will too. No web framework here: services and the gateway import it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Literal

FieldKind = Literal["id_number", "phone", "person_name", "address", "birth_date", "uscc", "plain"]

# The catalogue's 脱敏方式 labels, mapped onto the kinds above.
CATALOG_KINDS: dict[str, FieldKind] = {
    "姓名": "person_name",
    "手机号": "phone",
    "身份证号": "id_number",
    "地址": "address",
}

_ADMIN_UNIT = re.compile(r"省|自治区|自治州|市|州|盟|县|旗|区|镇|乡|街道|社区|居委会|村委会|村")
# Where the precise part of an address starts: a road, lane, house or room number, a village group.
_PRECISE = re.compile(r"\d|[０-９]|路|大道|大街|巷|弄|号|幢|栋|单元|室|楼|组|小区|苑|公寓")
HIDDEN = "****"


def id_number(value: str) -> str:
    """First and last character only: the area code and the birth digits never show."""
    value = value.strip()
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]


def phone(value: str) -> str:
    """Mobile numbers keep the carrier prefix and the last four digits (GB/T 35273 practice)."""
    value = value.strip()
    return value[:3] + "****" + value[-4:] if len(value) >= 7 else "*" * len(value)


def person_name(value: str) -> str:
    """The surname only: a given name's last character plus birth year and street narrows to one person."""
    value = value.strip()
    if len(value) <= 1:
        return value
    return value[0] + "*" * (len(value) - 1)


def address(value: str) -> str:
    """Down to the community, village or street (街道/乡镇); road, house and room numbers are cut off."""
    value = value.strip()
    if not value:
        return ""
    precise = _PRECISE.search(value)
    head = value[: precise.start()] if precise else value
    last_end = 0
    for unit in _ADMIN_UNIT.finditer(head):
        last_end = unit.end()
    if last_end == 0:
        return HIDDEN
    return value[:last_end] + ("…" if last_end < len(value) else "")


def birth_year(value: date | str | None) -> int | None:
    """A birth date is coarsened to its year: the full date is the ID number's hidden middle."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.year
    text = str(value).strip()
    return int(text[:4]) if len(text) >= 4 and text[:4].isdigit() else None


def is_individual_business(uscc: str) -> bool:
    """个体工商户 (register code 9, kind 2): its registration describes a person, so it is masked like one."""
    return uscc.strip().upper().startswith("92")


def _birth_date(text: str) -> str:
    year = birth_year(text)
    return f"{year}年" if year else ""


_RULES: dict[FieldKind, Callable[[str], str]] = {
    "id_number": id_number,
    "phone": phone,
    "person_name": person_name,
    "address": address,
    "birth_date": _birth_date,
}


def mask_value(kind: FieldKind, value: Any) -> str:
    """One value on its own, e.g. in a conflict list; records go through the views below."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, date) else str(value)
    rule = _RULES.get(kind)
    return rule(text) if rule else text


PERSON_KINDS: dict[str, FieldKind] = {
    "id_number": "id_number",
    "name": "person_name",
    "birth_date": "birth_date",
    "phone": "phone",
    "address": "address",
}


def legal_kinds(uscc: str) -> dict[str, FieldKind]:
    """A company's registration is public except its representative and phone; a sole trader's is personal."""
    kinds: dict[str, FieldKind] = {"legal_rep": "person_name", "phone": "phone"}
    if is_individual_business(uscc):
        kinds["address"] = "address"
    return kinds


def person_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """A person record masked as a whole: no field returned together rebuilds a masked one.

    Expects the keys of ``PersonRead`` (id_number may already be a stored mask of the same length).
    ``birth_date`` is dropped and ``birth_year`` given instead; gender stays (the ID's last character
    is the check digit, which together with gender and year still leaves thousands of candidates).
    """
    out = dict(record)
    for name in ("id_number", "name", "phone", "address"):
        if name in out:
            out[name] = mask_value(PERSON_KINDS[name], out[name])
    if "birth_date" in out:
        out["birth_year"] = birth_year(out["birth_date"])
        out["birth_date"] = None
    return out


def legal_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """A legal person record masked as a whole (see ``legal_kinds``)."""
    out = dict(record)
    for name, kind in legal_kinds(str(out.get("uscc") or "")).items():
        if name in out:
            out[name] = mask_value(kind, out[name])
    return out
