"""The database-free half of a batch: validation, blind indexes and SM4 sealing of new entities.

It is run inline, or — on big files — in a worker process one batch ahead of the writer, so the
CPU-bound checks and encryption overlap with entity resolution and the SQL of the previous batch.
The worker builds its own RowChecker and FieldCipher from plain arguments handed over once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zhixian.integration import rules
from zhixian.platform.crypto import FieldCipher

# per good row: (key as looked up, encrypted key or None, encrypted phone or None, phone blind index)
Sealed = tuple[str, str | None, str | None, str]


@dataclass(frozen=True)
class SealSpec:
    key_field: str
    encrypted_key: bool
    phone: bool  # the phone item is mapped


@dataclass
class Prepared:
    good: list[dict[str, Any]]
    bad: list[dict[str, Any]]  # {"number", "raw", "errors"}
    sealed: list[Sealed] | None  # parallel to good, when sealing was asked for


def seal_row(cipher: FieldCipher, spec: SealSpec, clean: Mapping[str, Any]) -> Sealed:
    """Exactly what EntityLoader computes for a new row (the key index also for existing ones)."""
    raw_key = str(clean[spec.key_field])
    key = cipher.blind_index(raw_key) if spec.encrypted_key else raw_key
    key_enc = cipher.encrypt(raw_key) if spec.encrypted_key else None
    phone = clean.get("phone") if spec.phone else None
    if phone:
        return key, key_enc, cipher.encrypt(phone), cipher.blind_index(phone)
    return key, key_enc, None, ""


def prepare(
    checker: rules.RowChecker,
    cipher: FieldCipher,
    rows: list[tuple[int, dict[str, Any]]],
    seal: SealSpec | None,
) -> Prepared:
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    sealed: list[Sealed] | None = [] if seal is not None else None
    for number, raw in rows:
        clean, errors = checker.check(raw)
        if errors:
            bad.append({"number": number, "raw": raw, "errors": errors})
            continue
        good.append(clean)
        if sealed is not None:
            assert seal is not None
            sealed.append(seal_row(cipher, seal, clean))
    return Prepared(good, bad, sealed)


_worker: tuple[rules.RowChecker, FieldCipher, SealSpec | None] | None = None


def init_worker(
    keys: list[tuple[str, bytes]],
    items: list[rules.ItemSpec],
    mapping: dict[str, str],
    known_divisions: frozenset[str],
    county_code: str,
    seal: SealSpec | None,
) -> None:
    """Process-pool initializer: the keys arrive once, through the pipe, and are never logged."""
    global _worker  # noqa: PLW0603 - one checker and cipher per worker process
    checker = rules.RowChecker(items, mapping, known_divisions=known_divisions, county_code=county_code)
    _worker = (checker, FieldCipher(keys), seal)


def work(rows: list[tuple[int, dict[str, Any]]]) -> Prepared:
    assert _worker is not None, "worker not initialised"
    checker, cipher, seal = _worker
    return prepare(checker, cipher, rows, seal)
