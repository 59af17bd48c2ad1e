"""Deleting the newest audit records (or all of them) is found by `audit verify`: the lane heads are
anchored in a signed file beside the keys, where database access alone cannot reach."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.cli import Result
from tests.conftest import dispose_node, make_node
from zhixian.app import Node
from zhixian.cli import app
from zhixian.platform import audit, audit_anchor
from zhixian.platform.audit import AuditContext

CTX = AuditContext(username="tester", ip="127.0.0.1")


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("ZHIXIAN_TEST_PG") else ["sqlite"]


@pytest.fixture(params=_backends())
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Node]:
    """A node with an empty log whose every commit updates the anchor."""
    node = make_node(tmp_path / "data", request.param, seed_demo=False, audit_anchor_every_records=1)
    yield node
    dispose_node(node)


def _verify_cli(node: Node) -> Result:
    env = {"ZHIXIAN_DATA_DIR": str(node.settings.data_dir), "ZHIXIAN_DATABASE_URL": node.settings.database_url}
    result = CliRunner().invoke(app, ["audit", "verify"], env=env, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def _existing(node: Node) -> int:
    """Records a fresh node already holds (``zhixian init`` audits its break-glass bootstrap)."""
    with node.db.transaction() as session:
        return int(session.execute(text("SELECT count(*) FROM audit_record")).scalar_one())


def _write(node: Node, count: int) -> list[int]:
    """``count`` records, one transaction each (as requests write them)."""
    ids = []
    for i in range(count):
        with node.db.transaction() as session:
            ids.append(audit.record(session, CTX, action="export", object_type="test", object_id=i).id)
    return ids


def _attack(node: Node, sql: str, **params: object) -> None:
    """An intruder with database access: drop the append-only triggers, then delete."""
    with node.db.engine.begin() as conn:
        if node.db.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER audit_record_no_update"))
            conn.execute(text("DROP TRIGGER audit_record_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_record_append_only ON audit_record"))
        conn.execute(text(sql), params)


def test_intact_log_verifies_and_writes_a_checkpoint(fresh: Node) -> None:
    anchor = fresh.db.info["audit_anchor"]
    anchor.every_records, anchor.every_seconds = 1000, 3600  # only the first commit anchors
    base = _existing(fresh)
    _write(fresh, 5)
    ok = _verify_cli(fresh)
    assert ok.returncode == 0, ok.stderr
    assert f"已校验 {base + 5} 条" in ok.stdout
    lines = (fresh.settings.data_dir / "keys" / "audit.anchor").read_text().splitlines()
    assert '"kind":"checkpoint"' in lines[-1]
    assert f'"n":{base + 5}' in lines[-1]
    assert _verify_cli(fresh).returncode == 0  # its own checkpoint verifies


def test_deleting_the_newest_ten_records_is_reported(fresh: Node) -> None:
    base = _existing(fresh)
    ids = _write(fresh, 30)
    _attack(fresh, "DELETE FROM audit_record WHERE id > :i", i=ids[19])
    bad = _verify_cli(fresh)
    assert bad.returncode == 1
    assert f"id={ids[-1]}（该道第 {base + 30} 条）已不存在" in bad.stderr
    assert f"在 id={ids[19]} 之后缺失至少 10 条记录" in bad.stderr
    assert "第 0 道" in bad.stderr


def test_deleting_every_record_since_a_time_is_reported(fresh: Node) -> None:
    ids = _write(fresh, 12)
    _attack(fresh, "DELETE FROM audit_record WHERE at >= (SELECT at FROM audit_record WHERE id = :i)", i=ids[4])
    bad = _verify_cli(fresh)
    assert bad.returncode == 1
    assert f"在 id={ids[3]} 之后缺失至少 8 条记录" in bad.stderr


def test_deleting_the_whole_log_is_reported(fresh: Node) -> None:
    base = _existing(fresh)
    _write(fresh, 7)
    _attack(fresh, "DELETE FROM audit_record")
    bad = _verify_cli(fresh)
    assert bad.returncode == 1
    assert "已校验 0 条" in bad.stderr
    assert "审计日志被整体删除" in bad.stderr
    assert f"至少有 {base + 7} 条" in bad.stderr


def test_new_records_after_a_truncation_do_not_hide_it(fresh: Node) -> None:
    """The app keeps writing onto the shortened chain, past the deleted head (SQLite even reuses its ids)."""
    ids = _write(fresh, 10)
    _attack(fresh, "DELETE FROM audit_record WHERE id > :i", i=ids[5])
    later = _write(fresh, 6)
    assert max(later) > ids[-1]
    bad = _verify_cli(fresh)
    assert bad.returncode == 1
    assert f"id={ids[-1]} 在之后更新锚点时已不存在或被替换" in bad.stderr


def test_rolled_back_transaction_does_not_advance_the_anchor(fresh: Node) -> None:
    base = _existing(fresh)
    _write(fresh, 2)

    def failing(session: Session, what: str) -> None:
        audit.record(session, CTX, action="export", object_id=what)
        raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError), fresh.db.transaction() as session:
        failing(session, "rolled back")
    with fresh.db.transaction() as session:  # a savepoint rolled back inside a committed transaction
        with pytest.raises(RuntimeError), session.begin_nested():
            failing(session, "savepoint")
        audit.record(session, CTX, action="export", object_id="kept")
    ok = _verify_cli(fresh)
    assert ok.returncode == 0, ok.stderr
    assert f"已校验 {base + 3} 条" in ok.stdout


def test_compacted_anchor_keeps_the_evidence(fresh: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_anchor, "MAX_BYTES", 2000)
    ids = _write(fresh, 4)
    _attack(fresh, "DELETE FROM audit_record WHERE id > :i", i=ids[1])
    _write(fresh, 20)
    anchor = fresh.settings.data_dir / "keys" / "audit.anchor"
    assert anchor.stat().st_size < 3000
    assert oct(anchor.stat().st_mode & 0o777) == "0o600"
    bad = _verify_cli(fresh)
    assert bad.returncode == 1
    assert f"id={ids[-1]} 在之后更新锚点时已不存在或被替换" in bad.stderr


def test_forged_anchor_line_is_reported(fresh: Node) -> None:
    _write(fresh, 2)
    anchor = fresh.settings.data_dir / "keys" / "audit.anchor"
    anchor.write_text(anchor.read_text().replace('"n":2', '"n":1'))
    bad = _verify_cli(fresh)
    assert bad.returncode == 1
    assert "签名无效" in bad.stderr


def test_postgresql_lanes_are_anchored_each(tmp_path: Path) -> None:
    """Two lanes written concurrently; truncating one lane is named with its lane number."""
    if not os.environ.get("ZHIXIAN_TEST_PG"):
        pytest.skip("PostgreSQL not configured (ZHIXIAN_TEST_PG)")
    node = make_node(tmp_path, "postgresql", seed_demo=False, audit_anchor_every_records=1)
    try:
        for _ in range(3):
            first, second = node.db.sessionmaker(), node.db.sessionmaker()
            with first.begin(), second.begin():
                a = audit.record(first, CTX, action="export")
                b = audit.record(second, CTX, action="export")
            first.close()
            second.close()
        assert (a.lane, b.lane) == (0, 1)
        heads = audit_anchor.Anchor(node.settings.data_dir / "keys" / "audit.anchor", b"").path.read_text()
        assert '"lane":1' in heads
        assert _verify_cli(node).returncode == 0
        _attack(node, "DELETE FROM audit_record WHERE id = :i", i=b.id)
        bad = _verify_cli(node)
        assert bad.returncode == 1
        assert f"第 1 道锚定的记录 id={b.id}（该道第 3 条）已不存在" in bad.stderr
        assert "缺失至少 1 条记录" in bad.stderr
    finally:
        dispose_node(node)


def test_quiet_log_is_anchored_by_the_job_and_the_window_before_it_is_open(tmp_path: Path) -> None:
    """With the default throttle, records written within seconds of an anchor are not yet anchored: deleting
    them goes unnoticed (the documented window) until the job or a verify anchors the heads."""
    node = make_node(tmp_path, "sqlite", seed_demo=False)  # anchor at most every 2 s / 200 records
    try:
        anchor = node.db.info["audit_anchor"]
        anchor.every_seconds = 3600  # a busy second: nothing more is anchored at commit time
        ids = _write(node, 5)
        with node.db.transaction() as session:
            unanchored = audit_anchor.lane_tops(session)[0][0]
        assert anchor.known()[0].id < unanchored
        audit_anchor.job(node)
        assert anchor.known()[0].id == ids[-1]
        _attack(node, "DELETE FROM audit_record WHERE id = :i", i=ids[-1])
        assert _verify_cli(node).returncode == 1
    finally:
        dispose_node(node)
