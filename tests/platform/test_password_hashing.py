"""The suite swaps in cheap argon2 parameters (tests/conftest.py); production must keep strong ones."""

from argon2 import Type

from tests.conftest import PRODUCTION_HASHER
from zhixian.platform import auth


def test_production_hasher_is_argon2id_with_owasp_strength() -> None:
    assert PRODUCTION_HASHER.type is Type.ID
    assert PRODUCTION_HASHER.memory_cost >= 19 * 1024
    assert PRODUCTION_HASHER.time_cost >= 2


def test_hashes_carry_their_parameters_so_production_verifies_suite_hashes() -> None:
    stored = auth.hash_password("Demo-pass-2026")
    assert stored.startswith("$argon2id$")
    assert PRODUCTION_HASHER.verify(stored, "Demo-pass-2026")
    assert PRODUCTION_HASHER.check_needs_rehash(stored)  # a real login would upgrade it
