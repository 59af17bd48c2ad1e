"""SM4 field encryption: round-trips, detects tampering, survives key rotation; blind index is stable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zhixian.platform.crypto import FieldCipher, KeyringError, mask_id_number, mask_name, mask_phone


def test_round_trip_uses_a_fresh_nonce_each_time() -> None:
    cipher = FieldCipher([("k1", os.urandom(16))])
    a, b = cipher.encrypt("11010519491231002X"), cipher.encrypt("11010519491231002X")
    assert a != b
    assert cipher.decrypt(a) == cipher.decrypt(b) == "11010519491231002X"


def test_tampered_ciphertext_is_refused() -> None:
    cipher = FieldCipher([("k1", os.urandom(16))])
    token = cipher.encrypt("13812345678")
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    with pytest.raises(KeyringError, match="篡改"):
        cipher.decrypt(flipped)


def test_rotation_reads_old_values_writes_with_the_new_key_and_keeps_lookups(tmp_path: Path) -> None:
    old = FieldCipher([("k1", os.urandom(16))])
    stored = old.encrypt("13812345678")
    rotated = FieldCipher([*old.keyring(), ("k2", os.urandom(16))])
    assert rotated.decrypt(stored) == "13812345678"
    assert rotated.needs_rotation(stored)
    assert rotated.encrypt("x").startswith("sm4.k2.")
    assert rotated.blind_index("13812345678") == old.blind_index("13812345678")


def test_key_file_is_created_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "sm4.keys"
    first = FieldCipher.from_file(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert FieldCipher.from_file(path).decrypt(first.encrypt("ok")) == "ok"
    with pytest.raises(KeyringError):
        FieldCipher.from_file(tmp_path / "missing", create=False)


def test_masks_follow_common_practice() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
