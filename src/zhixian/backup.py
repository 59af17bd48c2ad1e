"""Backup and restore of a SQLite node: the database and the keys travel together (等保 item 18).

Without its keys a backup is useless (encrypted fields, the audit chain), and keys without the
database are pointless, so one archive holds both, with an SM3 manifest checked on restore.
PostgreSQL nodes back up the database with pg_dump; this archive then carries the keys only.
"""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from zhixian.clock import utcnow
from zhixian.platform.crypto import sm3_hex
from zhixian.settings import Settings

MANIFEST = "manifest.json"


def _sqlite_path(settings: Settings) -> Path | None:
    url = settings.effective_database_url
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def create(settings: Settings, out: Path) -> dict[str, Any]:
    """Write a consistent snapshot (SQLite online backup API) and the keys into a .tar.gz."""
    files: dict[str, bytes] = {}
    db_path = _sqlite_path(settings)
    if db_path is not None:
        with tempfile.TemporaryDirectory() as tmp:
            snapshot = Path(tmp) / "zhixian.db"
            src, dst = sqlite3.connect(db_path), sqlite3.connect(snapshot)
            with dst:
                src.backup(dst)
            src.close()
            dst.close()
            files["zhixian.db"] = snapshot.read_bytes()
    keys = settings.data_dir / "keys"
    for key in sorted(keys.glob("*")) if keys.exists() else []:
        files[f"keys/{key.name}"] = key.read_bytes()
    manifest: dict[str, Any] = {
        "county_code": settings.county_code,
        "created_at": utcnow().isoformat(timespec="seconds"),
        "database": "sqlite" if db_path else "postgresql (use pg_dump)",
        "files": {name: sm3_hex(data) for name, data in files.items()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:gz") as tar:
        for name, data in {**files, MANIFEST: json.dumps(manifest, ensure_ascii=False, indent=1).encode()}.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
    out.chmod(0o600)
    return manifest


def restore(settings: Settings, archive: Path, *, force: bool) -> dict[str, Any]:
    """Check every file against the manifest, then replace the database and keys."""
    with tarfile.open(archive, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        if MANIFEST not in members:
            raise ValueError("备份文件缺少 manifest.json，不是 zhixian 备份")
        manifest: dict[str, Any] = json.loads(tar.extractfile(members[MANIFEST]).read())  # type: ignore[union-attr]
        contents: dict[str, bytes] = {}
        for name, digest in manifest["files"].items():
            if name not in members or "/.." in f"/{name}" or name.startswith("/"):
                raise ValueError(f"备份文件中缺少或不安全的条目：{name}")
            data = tar.extractfile(members[name]).read()  # type: ignore[union-attr]
            if sm3_hex(data) != digest:
                raise ValueError(f"备份文件已损坏：{name} 的 SM3 校验值不符")
            contents[name] = data
    db_path = _sqlite_path(settings)
    if db_path is not None and db_path.exists() and not force:
        raise ValueError(f"数据目录中已有数据库 {db_path}；确认覆盖请加 --force")
    for name, data in contents.items():
        if name == "zhixian.db":
            if db_path is None:
                raise ValueError("当前配置使用 PostgreSQL：请用 pg_restore 恢复数据库，本命令只恢复密钥")
            target = db_path
            for suffix in ("-wal", "-shm"):
                Path(str(db_path) + suffix).unlink(missing_ok=True)
        else:
            target = settings.data_dir / name
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        target.write_bytes(data)
        target.chmod(0o600)
    return manifest
