"""Backup/restore keeps database and keys together; management functions can be limited to office networks."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import Result, run_cli


def _cli(data: Path, *args: str) -> Result:
    return run_cli(data, *args)


def test_restore_brings_back_database_and_keys_and_the_audit_chain_verifies(tmp_path: Path) -> None:
    data, archive = tmp_path / "data", tmp_path / "b.tar.gz"
    assert _cli(data, "init").returncode == 0
    assert (
        _cli(data, "user", "create", "--username", "kept", "--full-name", "保留", "--department", "sjb").returncode == 0
    )
    made = _cli(data, "backup", "--out", str(archive))
    assert made.returncode == 0, made.stderr
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    assert (
        _cli(data, "user", "create", "--username", "later", "--full-name", "之后", "--department", "sjb").returncode
        == 0
    )

    refused = _cli(data, "restore", str(archive))
    assert refused.returncode == 1
    assert "--force" in refused.stderr
    assert _cli(data, "restore", str(archive), "--force").returncode == 0
    assert (
        "已存在" in _cli(data, "user", "create", "--username", "kept", "--full-name", "x", "--department", "sjb").stderr
    )
    assert _cli(data, "user", "disable", "later").returncode == 1  # created after the backup: gone
    verify = _cli(data, "audit", "verify")
    assert verify.returncode == 0, verify.stderr


def test_corrupted_backup_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    data, archive, bad = tmp_path / "data", tmp_path / "b.tar.gz", tmp_path / "bad.tar.gz"
    assert _cli(data, "init").returncode == 0
    assert _cli(data, "backup", "--out", str(archive)).returncode == 0
    with tarfile.open(archive) as src, tarfile.open(bad, "w:gz") as dst:
        for member in src.getmembers():
            content = src.extractfile(member).read()
            if member.name == "keys/audit.key":
                content = b"0" * len(content)
            member.size = len(content)
            dst.addfile(member, io.BytesIO(content))
    before = (data / "keys" / "audit.key").read_bytes()
    result = _cli(data, "restore", str(bad), "--force")
    assert result.returncode == 1
    assert "SM3 校验值不符" in result.stderr
    assert (data / "keys" / "audit.key").read_bytes() == before


@pytest.fixture
def office_only(node) -> Iterator[None]:
    node.settings.admin_networks = ["10.20.0.0/16"]
    yield
    node.settings.admin_networks = []


def test_administrator_functions_refused_outside_the_office_network(as_user, office_only: None) -> None:
    secadmin = as_user("secadmin")
    assert secadmin.get("/api/v1/users").status_code == 200  # reading is not an administrator duty
    resp = secadmin.post("/api/v1/users", json={"username": "fromoutside", "full_name": "某", "department_id": 1})
    assert resp.status_code == 403
    assert "内部网段" in resp.json()["detail"]
    assert as_user("auditor").get("/api/v1/audit").status_code == 403
