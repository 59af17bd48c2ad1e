"""The database-free half of a batch: validation, blind indexes and SM4 sealing of entities.

It is run inline, or — on big files — in a worker process one batch ahead of the writer, so the
CPU-bound checks and encryption overlap with entity resolution and the SQL of the previous batch.
The worker builds its own RowChecker and FieldCipher from plain arguments handed over once.
"""

from __future__ import annotations

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
    numbers: list[int]  # parallel to good: each clean row's number in the source


def seal_rows(cipher: FieldCipher, spec: SealSpec, rows: list[dict[str, Any]]) -> list[Sealed]:
    """What EntityLoader stores for each row: blind indexes one by one (HMAC-SM3), ciphertexts of the
    whole batch in one SM4 pass (FieldCipher.seal_many). Existing rows only use the key index."""
    keys = [str(r[spec.key_field]) for r in rows]
    phones = [(r.get("phone") or None) if spec.phone else None for r in rows]
    sealed = iter(cipher.seal_many([*(keys if spec.encrypted_key else ()), *(p for p in phones if p)]))
    key_enc = [next(sealed) for _ in keys] if spec.encrypted_key else [None] * len(keys)
    index = cipher.blind_index
    return [
        (
            index(key) if spec.encrypted_key else key,
            enc,
            next(sealed) if phone else None,
            index(phone) if phone else "",
        )
        for key, enc, phone in zip(keys, key_enc, phones, strict=True)
    ]


def prepare(
    checker: rules.RowChecker,
    cipher: FieldCipher,
    rows: list[tuple[int, dict[str, Any]]],
    seal: SealSpec | None,
) -> Prepared:
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    numbers: list[int] = []
    for number, raw in rows:
        clean, errors = checker.check(raw)
        if errors:
            bad.append({"number": number, "raw": raw, "errors": errors})
        else:
            good.append(clean)
            numbers.append(number)
    return Prepared(good, bad, seal_rows(cipher, seal, good) if seal is not None else None, numbers)


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
