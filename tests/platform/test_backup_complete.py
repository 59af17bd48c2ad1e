"""A backup brings a county back whole (photos, uploaded source files, keys, audit anchor); a forged or
altered archive is refused before anything is written; the data directory is private."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import shutil
import stat
import tarfile
import uuid
from pathlib import Path

from sqlalchemy import select

from tests.citymgmt.conftest import jpeg
from tests.cli import run_cli
from tests.conftest import PASSWORD, Client, LiveServer, make_node
from zhixian.app import build_node
from zhixian.integration import pipeline
from zhixian.integration.models import Source
from zhixian.settings import Settings


def _login(server: LiveServer, username: str) -> Client:
    client = Client(base_url=server.url, timeout=30)
    assert client.login(username, PASSWORD).status_code == 200
    return client


def _report_with_photo(server: LiveServer, node) -> str:
    from tests.citymgmt.conftest import grid_point

    with node.db.transaction() as session:
        lon, lat, _ = grid_point(session)
    with contextlib.closing(_login(server, "inspector01")) as inspector:
        resp = inspector.post(
            "/api/v1/citymgmt/reports",
            data={"class_code": "S0102", "lon": str(lon), "lat": str(lat), "description": "路口有成堆垃圾"},
            files={"photo": ("before.jpg", jpeg(color="blue"), "image/jpeg")},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert resp.status_code == 201, resp.text
        return str(resp.json()["photos"][0]["url"])


def _tree(data: Path) -> dict[str, str]:
    return {
        str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest() for p in data.rglob("*") if p.is_file()
    }


def test_restore_into_a_wiped_data_directory_brings_back_photos_and_source_files(tmp_path: Path) -> None:
    data, archive, offline = tmp_path / "data", tmp_path / "b.tar.gz", tmp_path / "offline-backup.key"
    node = make_node(data, "sqlite")
    server = LiveServer(node)
    try:
        url = _report_with_photo(server, node)
        with contextlib.closing(_login(server, "acceptor")) as acceptor:
            before = acceptor.get(url)
        assert before.status_code == 200
    finally:
        server.stop()
        node.db.engine.dispose()
    photo = next((data / "uploads").rglob("*.jpg"))
    assert stat.S_IMODE(photo.stat().st_mode) == 0o600
    assert stat.S_IMODE(photo.parent.stat().st_mode) == 0o700

    made = run_cli(data, "backup", "--out", str(archive))
    assert made.returncode == 0, made.stderr
    shutil.copyfile(data / "keys" / "backup.key", offline)
    shutil.rmtree(data)
    assert "--key-file" in run_cli(data, "restore", str(archive)).stderr  # no key, no restore
    restored = run_cli(data, "restore", str(archive), "--key-file", str(offline))
    assert restored.returncode == 0, restored.stderr

    node = build_node(Settings(data_dir=data))
    server = LiveServer(node)
    try:
        with contextlib.closing(_login(server, "acceptor")) as acceptor:
            after = acceptor.get(url)
        assert after.status_code == 200
        assert after.content == before.content
        with node.db.transaction() as session:
            sources = session.execute(select(Source).where(Source.kind.in_(("csv", "excel", "json")))).scalars().all()
            assert sources
            for source in sources:
                opened = pipeline.open_source(source, node.cipher, data_dir=node.settings.data_dir, limit=1)
                assert next(iter(opened.rows), None) is not None
    finally:
        server.stop()
        node.db.engine.dispose()
    verify = run_cli(data, "audit", "verify")
    assert verify.returncode == 0, verify.stderr


def _small_backup(tmp_path: Path) -> tuple[Path, Path]:
    data, archive = tmp_path / "data", tmp_path / "b.tar.gz"
    assert run_cli(data, "init").returncode == 0
    upload = data / "integration" / "uploads" / "people.csv"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_text("姓名,电话\n张三,13800000000\n")
    assert run_cli(data, "backup", "--out", str(archive)).returncode == 0
    return data, archive


def _rewrite(archive: Path, out: Path, change: dict[str, bytes]) -> None:
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            content = change.get(member.name, src.extractfile(member).read())  # type: ignore[union-attr]
            member.size = len(content)
            dst.addfile(member, io.BytesIO(content))


def _manifest(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]


def _refused(data: Path, bad: Path, message: str) -> None:
    before = _tree(data)
    result = run_cli(data, "restore", str(bad), "--force")
    assert result.returncode == 1
    assert message in result.stderr
    assert _tree(data) == before  # nothing written, no staging left behind


ALTERED = "姓名,电话\n李四,13900000000\n".encode()


def test_archive_with_an_altered_file_is_refused(tmp_path: Path) -> None:
    data, archive = _small_backup(tmp_path)
    (data / "integration" / "uploads" / "people.csv").write_text("changed since the backup")
    bad = tmp_path / "bad.tar.gz"
    _rewrite(archive, bad, {"integration/uploads/people.csv": ALTERED})
    _refused(data, bad, "SM3 校验值不符")


def test_archive_with_an_altered_manifest_is_refused(tmp_path: Path) -> None:
    data, archive = _small_backup(tmp_path)
    manifest = _manifest(archive)
    manifest["files"]["integration/uploads/people.csv"] = {
        "size": len(ALTERED),
        "sm3": hashlib.new("sm3", ALTERED).hexdigest(),
    }
    bad = tmp_path / "bad.tar.gz"
    body = json.dumps(manifest, ensure_ascii=False).encode()
    _rewrite(archive, bad, {"manifest.json": body, "integration/uploads/people.csv": ALTERED})
    _refused(data, bad, "签名不符")


def test_manifest_re_signed_without_the_node_key_is_refused(tmp_path: Path) -> None:
    data, archive = _small_backup(tmp_path)
    manifest = _manifest(archive)
    manifest["files"]["integration/uploads/people.csv"] = {
        "size": len(ALTERED),
        "sm3": hashlib.new("sm3", ALTERED).hexdigest(),
    }
    body = json.dumps(manifest, ensure_ascii=False).encode()
    forged = hmac.new(os.urandom(32), b"zhixian-backup-v1|" + body, "sm3").hexdigest().encode()
    bad = tmp_path / "bad.tar.gz"
    _rewrite(archive, bad, {"manifest.json": body, "manifest.sig": forged, "integration/uploads/people.csv": ALTERED})
    _refused(data, bad, "签名不符")


def test_extra_member_not_in_the_manifest_is_refused(tmp_path: Path) -> None:
    data, archive = _small_backup(tmp_path)
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(bad, "w:gz") as dst:
        for member in src.getmembers():
            dst.addfile(member, src.extractfile(member))
        extra = tarfile.TarInfo("keys/sm4.keys.evil")
        extra.size = 3
        dst.addfile(extra, io.BytesIO(b"k:0"))
    _refused(data, bad, "清单未列出")


def test_data_directory_database_and_keys_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "uploads").mkdir(mode=0o755)
    assert run_cli(data, "init").returncode == 0
    for folder in (data, data / "keys", data / "uploads"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    private = [data / "zhixian.db", *(data / "keys").iterdir()]
    private += [p for p in (data / "zhixian.db-wal", data / "zhixian.db-shm") if p.exists()]
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    (data / "zhixian.db").chmod(0o644)  # left readable by an older version: closed on the next start
    assert run_cli(data, "audit", "verify").returncode == 0
    assert stat.S_IMODE((data / "zhixian.db").stat().st_mode) == 0o600
