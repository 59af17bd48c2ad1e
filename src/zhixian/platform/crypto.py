"""SM4 field encryption, SM3 hashing and HMAC-SM3 blind indexes (等保 item 14, GB/T 39786).

Keys live in a file outside the database (``<data_dir>/keys/sm4.keys``, one ``kid:hex`` per
line, newest last). Ciphertexts name their key id, so rotation is: add a key, re-encrypt, drop
the old one. Blind indexes use a key derived from the first key so exact lookups survive rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def sm3_hex(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.new("sm3", raw).hexdigest()


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

    def decrypt(self, ciphertext: str) -> str:
        scheme, kid, token = [*ciphertext.split(".", 2), "", ""][:3]
        if scheme != "sm4" or kid not in self._keys:
            raise KeyringError("密文格式不正确或密钥已不在密钥环中")
        raw = base64.urlsafe_b64decode(token)
        nonce, body, tag = raw[:12], raw[12:-16], raw[-16:]
        dec = Cipher(self._algorithms[kid], modes.GCM(nonce, tag)).decryptor()
        try:
            return (dec.update(body) + dec.finalize()).decode()
        except InvalidTag as exc:
            raise KeyringError("密文校验失败（可能被篡改）") from exc

    def keyring(self) -> list[tuple[str, bytes]]:
        """The keys in file order, for a worker process that must seal fields exactly like this node."""
        return list(self._keys.items())

    def blind_index(self, value: str) -> str:
        """Keyed hash for exact lookup of an encrypted value without decrypting every row."""
        return hmac.new(self._index_key, value.encode(), "sm3").hexdigest()

    def needs_rotation(self, ciphertext: str) -> bool:
        return not ciphertext.startswith(f"sm4.{self._current}.")


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "*" * len(phone)


def mask_id_number(value: str) -> str:
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def mask_name(name: str) -> str:
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
