"""Backup and restore of a node: everything a county needs to come back, in one keyed archive (等保 item 18).

The archive holds a consistent SQLite snapshot, the keys, the audit anchor, and every file kept under the
data directory (case photos, uploaded source files). Files are streamed into and out of the tar, never
read whole. Its manifest lists every file with size and SM3 digest and is keyed with HMAC-SM3 under
``keys/backup.key``. That key is not in the archive: an archive can only be checked (and so forged)
with the node's own key or the operator's offline copy (``restore --key-file``, needed to restore into
an empty data directory). Restore checks the key, then extracts into a staging folder while checking
every digest, and only then moves the files into place: a forged or altered archive writes nothing.
PostgreSQL nodes back up the database with pg_dump; this archive then carries everything else.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import secrets
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from zhixian.clock import utcnow
from zhixian.settings import Settings

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
DATABASE = "zhixian.db"
SM4_EXTERNAL = "external/sm4.keys"  # an SM4 key file configured outside the data directory
CHUNK = 1024 * 1024
_SKIP_SUFFIXES = (".part", ".tmp", ".lock")


class BackupError(ValueError):
    """A refused backup or restore, with a Chinese message."""


def key_path(settings: Settings) -> Path:
    return settings.data_dir / "keys" / "backup.key"


def _backup_key(settings: Settings) -> bytes:
    path = key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def _mac(key: bytes, manifest: bytes) -> str:
    return hmac.new(key, b"zhixian-backup-v1|" + manifest, "sm3").hexdigest()


def _sqlite_path(settings: Settings) -> Path | None:
    url = settings.effective_database_url
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _data_files(settings: Settings, out: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file under the data directory except the live database, temporary files, the backup
    key and the archive being written."""
    data = settings.data_dir
    db = _sqlite_path(settings)
    live_db = {Path(str(db) + s).resolve() for s in ("", "-wal", "-shm")} if db else set()
    skip = {*live_db, out.resolve(), key_path(settings).resolve()}
    for root, dirs, names in os.walk(data):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".restore-"))
        for name in sorted(names):
            path = Path(root) / name
            if path.is_symlink() or not path.is_file() or name.endswith(_SKIP_SUFFIXES):
                continue
            if path.resolve() in skip:
                continue
            yield path.relative_to(data).as_posix(), path


class _Hashing:
    """A read-only file wrapper that hashes what tarfile reads from it."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f, self.digest = f, hashlib.new("sm3")

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(size)
        self.digest.update(data)
        return data


def _add(tar: tarfile.TarFile, name: str, path: Path, files: dict[str, dict[str, Any]]) -> None:
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, int(utcnow().timestamp())
        hashing = _Hashing(f)
        tar.addfile(info, hashing)
    files[name] = {"size": size, "sm3": hashing.digest.hexdigest()}


def create(settings: Settings, out: Path) -> dict[str, Any]:
    """Write the anchor, a consistent database snapshot, then every file (a file a row refers to is on disk
    before the row is committed, so the snapshot never names a file the archive lacks)."""
    key = _backup_key(settings)
    out.parent.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {}
    db_path = _sqlite_path(settings)
    sources = list(_data_files(settings, out))
    anchor = [(n, p) for n, p in sources if n == "keys/audit.anchor"]
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, path in anchor:  # before the snapshot: every anchored record is in it
            _add(tar, name, path, files)
        if db_path is not None:
            with tempfile.TemporaryDirectory() as tmp:
                snapshot = Path(tmp) / DATABASE
                src, dst = sqlite3.connect(db_path), sqlite3.connect(snapshot)
                with dst:
                    src.backup(dst)
                src.close()
                dst.close()
                _add(tar, DATABASE, snapshot, files)
        for name, path in sources:
            if name not in files:
                _add(tar, name, path, files)
        sm4 = settings.sm4_keys_path
        if sm4.exists() and not sm4.resolve().is_relative_to(settings.data_dir.resolve()):
            _add(tar, SM4_EXTERNAL, sm4, files)
        manifest = {
            "format": 2,
            "county_code": settings.county_code,
            "created_at": utcnow().isoformat(timespec="seconds"),
            "database": "sqlite" if db_path else "postgresql (use pg_dump)",
            "files": files,
        }
        body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
        for name, data in ((MANIFEST, body), (SIGNATURE, _mac(key, body).encode())):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
    out.chmod(0o600)
    return manifest


def _target(settings: Settings, name: str) -> Path:
    if name == DATABASE:
        db = _sqlite_path(settings)
        if db is None:
            raise BackupError("当前配置使用 PostgreSQL：请用 pg_restore 恢复数据库，本命令只恢复文件与密钥")
        return db
    if name == SM4_EXTERNAL:
        return settings.sm4_keys_path
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or ".." in parts or "\\" in name:
        raise BackupError(f"备份文件中有不安全的条目：{name}")
    return settings.data_dir.joinpath(*parts)


def _read_manifest(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], key: bytes) -> dict[str, Any]:
    if MANIFEST not in members or SIGNATURE not in members:
        raise BackupError("备份文件缺少清单或其签名，不是本系统的备份")
    body = tar.extractfile(members[MANIFEST]).read()  # type: ignore[union-attr]
    sig = tar.extractfile(members[SIGNATURE]).read().decode(errors="replace").strip()  # type: ignore[union-attr]
    if not hmac.compare_digest(_mac(key, body), sig):
        raise BackupError("备份清单签名不符：备份文件被篡改，或不是用本节点的备份密钥生成的")
    manifest: dict[str, Any] = json.loads(body)
    extra = set(members) - set(manifest["files"]) - {MANIFEST, SIGNATURE}
    if extra:
        raise BackupError(f"备份文件中有清单未列出的条目：{sorted(extra)[0]}")
    return manifest


def restore(settings: Settings, archive: Path, *, force: bool, key_file: Path | None = None) -> dict[str, Any]:
    """Check the manifest's key, extract into staging while checking every digest, then move into place."""
    local = key_path(settings)
    if key_file is None and not local.exists():
        raise BackupError("数据目录中没有备份密钥 keys/backup.key：请用 --key-file 指定离线保存的备份密钥")
    key_source = key_file or local
    key = bytes.fromhex(key_source.read_text().strip())
    db_path = _sqlite_path(settings)
    if db_path is not None and db_path.exists() and not force:
        raise BackupError(f"数据目录中已有数据库 {db_path}；确认覆盖请加 --force")
    with tarfile.open(archive, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        manifest = _read_manifest(tar, members, key)
        targets = {name: _target(settings, name) for name in manifest["files"]}
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=settings.data_dir))
        try:
            staged = _extract_checked(tar, members, manifest["files"], staging)
            _move_into_place(staged, targets, db_path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if key_file is not None and not local.exists():
        local.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(key_file, local)
        local.chmod(0o600)
    return manifest


def _extract_checked(
    tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], files: dict[str, dict[str, Any]], staging: Path
) -> dict[str, Path]:
    staged: dict[str, Path] = {}
    for i, (name, meta) in enumerate(files.items()):
        member = members.get(name)
        if member is None or not member.isfile() or member.size != meta["size"]:
            raise BackupError(f"备份文件中缺少或不完整的条目：{name}")
        digest, path = hashlib.new("sm3"), staging / f"{i}"
        src = tar.extractfile(member)
        assert src is not None  # a regular file member always has content
        with src, path.open("wb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                dst.write(chunk)
        if digest.hexdigest() != meta["sm3"]:
            raise BackupError(f"备份文件已损坏：{name} 的 SM3 校验值不符")
        staged[name] = path
    return staged


def _move_into_place(staged: dict[str, Path], targets: dict[str, Path], db_path: Path | None) -> None:
    for name, path in staged.items():
        target = targets[name]
        if name == DATABASE and db_path is not None:
            for suffix in ("-wal", "-shm"):
                Path(str(db_path) + suffix).unlink(missing_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.chmod(0o600)
        try:
            path.replace(target)
        except OSError:  # another filesystem (a database or key file outside the data directory)
            shutil.move(path, target)
