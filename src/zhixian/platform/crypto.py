"""SM4 field encryption, SM3 hashing and HMAC-SM3 blind indexes (等保 item 14, GB/T 39786).

Keys live in a file outside the database (``<data_dir>/keys/sm4.keys``, one ``kid:hex`` per
line, newest last). Ciphertexts name their key id, so rotation is: add a key, re-encrypt, drop
the old one. Blind indexes use a key derived from the first key so exact lookups survive rotation.

Two ciphertext forms: ``sm4.`` is SM4-GCM, one field at a time, for everything; ``sm4c.`` is SM4-CTR
sealed in bulk (seal_many) for fields that are always stored beside their blind index — the ID
numbers and phones of the base databases. Building one GCM context per field cost most of a million-
row load. A ``sm4c.`` field has no tag of its own: its blind index is its integrity check, so it is
only opened together with that index.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from zhixian.platform import masking

_BLOCK = 16
_COUNTER_MASK = (1 << 128) - 1


def sm3_hex(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.new("sm3", raw).hexdigest()


def b64url(raw: bytes) -> str:
    """URL-safe base64 without padding: how signed tokens and cursors carry bytes in a URL."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """The bytes of ``b64url`` text, accepted only in the one spelling ``b64url`` writes (else ValueError).
    Base64 ignores the unused low bits of a last character, so without this check several strings would
    pass as the same token, and a changed token could still work."""
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(raw) != text:
        raise ValueError("not canonical base64")
    return raw


class KeyringError(RuntimeError):
    pass


class FieldCipher:
    """Encrypts short personal fields (ID numbers, phones) with SM4-GCM."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise KeyringError("SM4 密钥为空")
        for kid, key in keys:
            if len(key) != 16 or ":" in kid or "." in kid:
                raise KeyringError(f"SM4 密钥 {kid} 无效：需 16 字节，标识不得含 ':' 或 '.'")
        self._keys = dict(keys)
        # one SM4 key object per key id: building it per call was a fifth of the cost of a field encryption
        self._algorithms = {kid: algorithms.SM4(key) for kid, key in keys}
        self._current = keys[-1][0]
        self._index_key = hmac.new(keys[0][1], b"zhixian blind index v1", "sm3").digest()

    @classmethod
    def from_file(cls, path: Path, *, create: bool = True) -> FieldCipher:
        if not path.exists():
            if not create:
                raise KeyringError(f"找不到 SM4 密钥文件 {path}")
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(f"k1:{secrets.token_hex(16)}\n")
            path.chmod(0o600)
        keys: list[tuple[str, bytes]] = []
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                kid, _, hexkey = line.strip().partition(":")
                try:
                    keys.append((kid, bytes.fromhex(hexkey)))
                except ValueError as exc:
                    raise KeyringError(f"SM4 密钥文件 {path} 格式错误") from exc
        return cls(keys)

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        enc = Cipher(self._algorithms[self._current], modes.GCM(nonce)).encryptor()
        body = enc.update(plaintext.encode()) + enc.finalize()
        token = base64.urlsafe_b64encode(nonce + body + enc.tag).decode()
        return f"sm4.{self._current}.{token}"

    def seal_many(self, values: Sequence[str]) -> list[str]:
        """Encrypts many fields with one SM4-CTR stream from a random 128-bit counter: each field starts
        on its own block, and its ciphertext carries that block's counter, so it opens on its own."""
        raw = [v.encode() for v in values]
        padded = [-(-len(b) // _BLOCK) * _BLOCK for b in raw]
        base = int.from_bytes(os.urandom(_BLOCK), "big")
        enc = Cipher(self._algorithms[self._current], modes.CTR(base.to_bytes(_BLOCK, "big"))).encryptor()
        stream = enc.update(b"".join(b.ljust(n, b"\0") for b, n in zip(raw, padded, strict=True)))
        prefix = f"sm4c.{self._current}."
        out: list[str] = []
        offset = 0
        for b, n in zip(raw, padded, strict=True):
            counter = ((base + offset // _BLOCK) & _COUNTER_MASK).to_bytes(_BLOCK, "big")
            out.append(prefix + base64.urlsafe_b64encode(counter + stream[offset : offset + len(b)]).decode())
            offset += n
        return out

    def decrypt(self, ciphertext: str, *, index: str | None = None) -> str:
        """index: the value's blind index, checked when given; required for bulk-sealed (sm4c) fields."""
        scheme, kid, token = [*ciphertext.split(".", 2), "", ""][:3]
        if scheme not in ("sm4", "sm4c") or kid not in self._keys:
            raise KeyringError("密文格式不正确或密钥已不在密钥环中")
        raw = base64.urlsafe_b64decode(token)
        try:
            if scheme == "sm4c":
                if index is None:
                    raise KeyringError("批量密文须与其盲索引一同校验")
                dec = Cipher(self._algorithms[kid], modes.CTR(raw[:_BLOCK])).decryptor()
                value = (dec.update(raw[_BLOCK:]) + dec.finalize()).decode()
            else:
                nonce, body, tag = raw[:12], raw[12:-16], raw[-16:]
                dec = Cipher(self._algorithms[kid], modes.GCM(nonce, tag)).decryptor()
                value = (dec.update(body) + dec.finalize()).decode()
        except (InvalidTag, UnicodeDecodeError, ValueError) as exc:
            raise KeyringError("密文校验失败（可能被篡改）") from exc
        if index is not None and not hmac.compare_digest(self.blind_index(value), index):
            raise KeyringError("密文校验失败（可能被篡改）")
        return value

    def keyring(self) -> list[tuple[str, bytes]]:
        """The keys in file order, for a worker process that must seal fields exactly like this node."""
        return list(self._keys.items())

    def blind_index(self, value: str) -> str:
        """Keyed hash for exact lookup of an encrypted value without decrypting every row."""
        return hmac.new(self._index_key, value.encode(), "sm3").hexdigest()

    def needs_rotation(self, ciphertext: str) -> bool:
        return not ciphertext.startswith((f"sm4.{self._current}.", f"sm4c.{self._current}."))


def mask_phone(phone: str) -> str:
    """Kept for callers that store a masked copy; the rule lives in ``platform.masking``."""
    return masking.phone(phone)


def mask_id_number(value: str) -> str:
    return masking.id_number(value)


def mask_name(name: str) -> str:
    return masking.person_name(name)
