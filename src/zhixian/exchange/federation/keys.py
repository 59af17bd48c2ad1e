"""The node's signing key pair, kept in the data directory beside the platform's other keys.

``keys/federation.key`` holds the private key (PKCS#8 PEM, 0600) and ``keys/federation.json`` the node's
id, name and the key's algorithm, so a later algorithm can be added without guessing what a file holds.

Why Ed25519 and not SM2: ``cryptography`` (already a dependency, maintained with OpenSSL) does not expose
SM2 signatures, and the Python SM2 packages available (gmssl and its forks) are pure-Python, not
constant-time and thinly maintained — a worse risk for a node key than a well-reviewed Ed25519. Every key
and every pinned peer key records its algorithm, so SM2 can be added when a maintained binding exists.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from zhixian.clock import utcnow
from zhixian.exchange.signing import sm3_hex
from zhixian.settings import Settings

ALGORITHMS = ("ed25519",)
NODE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,39}$")


class KeyMissing(RuntimeError):
    """This node has no key yet: ``zhixian exchange federation keygen`` makes one."""


@dataclass(frozen=True)
class NodeKey:
    node_id: str
    name: str
    algorithm: str
    private: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.algorithm, self.public_key)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode()


def key_file(data_dir: Path) -> Path:
    return data_dir / "keys" / "federation.key"


def meta_file(data_dir: Path) -> Path:
    return data_dir / "keys" / "federation.json"


def fingerprint(algorithm: str, public_key: str) -> str:
    """What two administrators read to each other before a key is pinned: SM3 of algorithm and key."""
    digest = sm3_hex(f"{algorithm}:{public_key}".encode())[:32].upper()
    return "-".join(digest[i : i + 4] for i in range(0, 32, 4))


def generate(data_dir: Path, *, node_id: str, name: str, force: bool = False) -> NodeKey:
    """A new key pair for this node; an existing one is kept unless ``force`` (peers must then re-pin).
    Without ``force`` the key file is created exclusively: two workers making it at once make one."""
    if not NODE_ID_RE.match(node_id):
        raise ValueError("节点标识须为 3–40 位小写字母、数字或 -，以字母或数字开头")
    path, meta = key_file(data_dir), meta_file(data_dir)
    exists = FileExistsError(f"本节点已有密钥 {path}；更换密钥后上级节点须重新核对指纹，确需更换请加 --force")
    if path.exists() and not force:
        raise exists
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # the description first: a key file is only ever seen with the description that belongs to it
    _write(meta, _meta(node_id, name).encode(), replace=True)
    try:
        _write(path, pem, replace=force)
    except FileExistsError:
        raise exists from None
    return NodeKey(node_id=node_id, name=name, algorithm="ed25519", private=private)


def _write(target: Path, data: bytes, *, replace: bool) -> None:
    if replace:
        tmp = target.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        tmp.replace(target)
        return
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def of(settings: Settings) -> NodeKey:
    """The node's key; its default id is ``zx-<division code>``, its default name the county's."""
    return ensure(settings.data_dir, node_id=f"zx-{settings.county_code}", name=settings.county_name)


def ensure(data_dir: Path, *, node_id: str, name: str) -> NodeKey:
    """This node's key, made on first use when no administrator ran ``keygen`` (like the platform's other
    keys); a node that lost the race to make it reads the one that won."""
    if not key_file(data_dir).exists():
        with contextlib.suppress(FileExistsError):
            generate(data_dir, node_id=node_id, name=name)
    return load(data_dir)


def _meta(node_id: str, name: str) -> str:
    return json.dumps(
        {"node_id": node_id, "name": name, "algorithm": "ed25519", "created_at": utcnow().isoformat()},
        ensure_ascii=False,
    )


def load(data_dir: Path) -> NodeKey:
    path, meta = key_file(data_dir), meta_file(data_dir)
    if not path.exists() or not meta.exists():
        raise KeyMissing("本节点尚未生成联邦签名密钥，请先运行 zhixian exchange federation keygen")
    info = json.loads(meta.read_text())
    if info.get("algorithm") not in ALGORITHMS:
        raise KeyMissing(f"密钥算法 {info.get('algorithm')!r} 不受支持")
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyMissing(f"密钥文件 {path} 不是 Ed25519 私钥")
    return NodeKey(node_id=info["node_id"], name=info["name"], algorithm=info["algorithm"], private=private)


def verify(algorithm: str, public_key: str, signature: str, message: bytes) -> bool:
    """True only for a valid signature of ``message`` by the (pinned) key."""
    if algorithm not in ALGORITHMS:
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def valid_public_key(algorithm: str, public_key: str) -> bool:
    if algorithm not in ALGORITHMS:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
    except ValueError:
        return False
    return True
