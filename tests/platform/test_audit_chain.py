"""The audit chain detects edits made directly in the database, and a failed audit write fails the action."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.cli import run_cli
from tests.conftest import dispose_node, make_node
from zhixian.platform import audit
from zhixian.platform.audit import AuditContext
from zhixian.platform.models import AuditRecord, User

CTX = AuditContext(user_id=None, username="tester", ip="127.0.0.1")


def _drop_guards(db: Session) -> None:
    """What an intruder with database access does first: remove the append-only triggers."""
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("DROP TRIGGER audit_record_no_update"))
        db.execute(text("DROP TRIGGER audit_record_no_delete"))
    else:
        db.execute(text("DROP TRIGGER audit_record_append_only ON audit_record"))


def _three_records(db: Session) -> list[AuditRecord]:
    appended = [audit.record(db, CTX, action="export", object_type="test", object_id=i) for i in range(3)]
    return [db.get_one(AuditRecord, a.id) for a in appended]


def test_database_refuses_updates_and_deletes_of_audit_records(db: Session) -> None:
    rec = _three_records(db)[0]
    with pytest.raises(Exception, match="append-only"), db.begin_nested():
        db.execute(text("UPDATE audit_record SET result = 'x' WHERE id = :i"), {"i": rec.id})
    with pytest.raises(Exception, match="append-only"), db.begin_nested():
        db.execute(text("DELETE FROM audit_record WHERE id = :i"), {"i": rec.id})


def test_untouched_chain_verifies(db: Session) -> None:
    _three_records(db)
    result = audit.verify(db)
    assert result.ok, result.problems
    assert result.checked >= 3


def test_verify_reports_a_modified_record(db: Session) -> None:
    records = _three_records(db)
    _drop_guards(db)
    db.execute(text("UPDATE audit_record SET result = '失败' WHERE id = :i"), {"i": records[1].id})
    db.expire_all()
    result = audit.verify(db)
    assert not result.ok
    assert result.first_bad_id == records[1].id
    assert "被修改" in result.problems[0]


def test_verify_reports_a_deleted_record(db: Session) -> None:
    records = _three_records(db)
    _drop_guards(db)
    db.execute(text("DELETE FROM audit_record WHERE id = :i"), {"i": records[1].id})
    db.expire_all()
    result = audit.verify(db)
    assert result.first_bad_id == records[2].id
    assert "被删除或插入" in result.problems[0]


def test_verify_reports_an_inserted_record(db: Session) -> None:
    records = _three_records(db)
    _drop_guards(db)
    forged_id = records[2].id + 1000
    db.execute(
        text(
            "INSERT INTO audit_record (id, at, user_id, username, department_id, action, object_type, object_id,"
            " result, ip, detail, prev_hash, hash) VALUES (:id, :at, NULL, 'intruder', NULL, 'login', '', '',"
            " '成功', '', '{}', :prev, :hash)"
        ),
        {"id": forged_id, "at": records[2].at.replace(tzinfo=None), "prev": records[2].hash, "hash": "f" * 64},
    )
    db.expire_all()
    result = audit.verify(db)
    assert result.first_bad_id == forged_id
    assert "伪造插入" in result.problems[0]


def test_failed_audit_write_fails_the_action(as_user, db: Session) -> None:
    """The user the administrator tried to create does not exist afterwards."""
    admin = as_user("secadmin")
    if db.get_bind().dialect.name == "sqlite":
        db.execute(
            text("CREATE TRIGGER audit_broken BEFORE INSERT ON audit_record BEGIN SELECT RAISE(ABORT, 'disk'); END")
        )
    else:
        db.execute(
            text(
                "CREATE FUNCTION audit_broken() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk'; END $$"
            )
        )
        db.execute(
            text(
                "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_record FOR EACH ROW EXECUTE FUNCTION audit_broken()"
            )
        )
    db.flush()
    resp = admin.post("/api/v1/users", json={"username": "ghost", "full_name": "不应存在", "department_id": 1})
    assert resp.status_code == 503
    assert "审计记录写入失败" in resp.json()["detail"]
    assert db.execute(select(User).where(User.username == "ghost")).first() is None


@pytest.mark.parametrize("tamper", ["modify", "delete", "insert"])
def test_cli_audit_verify_exits_nonzero_and_names_the_record(tmp_path: Path, tamper: str) -> None:
    node = make_node(tmp_path, "sqlite", seed_demo=False)
    try:
        with node.db.transaction() as session:
            records = _three_records(session)
            ids = [r.id for r in records]
        ok = run_cli(tmp_path, "audit", "verify")
        assert ok.returncode == 0, ok.stderr
        assert "审计日志完整" in ok.stdout
        with node.db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER audit_record_no_update"))
            conn.execute(text("DROP TRIGGER audit_record_no_delete"))
            if tamper == "modify":
                conn.execute(text("UPDATE audit_record SET username = 'someone' WHERE id = :i"), {"i": ids[1]})
                expected = ids[1]
            elif tamper == "delete":
                conn.execute(text("DELETE FROM audit_record WHERE id = :i"), {"i": ids[1]})
                expected = ids[2]
            else:
                conn.execute(
                    text(
                        "INSERT INTO audit_record (id, at, username, action, object_type, object_id, result, ip, detail,"
                        " prev_hash, hash) SELECT id + 1, at, 'x', 'login', '', '', '成功', '', '{}', hash, :h"
                        " FROM audit_record WHERE id = :i"
                    ),
                    {"i": ids[2], "h": "e" * 64},
                )
                expected = ids[2] + 1
        bad = run_cli(tmp_path, "audit", "verify")
        assert bad.returncode == 1
        assert f"id={expected}" in bad.stderr
    finally:
        dispose_node(node)


def test_concurrent_postgresql_writers_append_to_separate_lanes_and_all_verify(tmp_path: Path) -> None:
    """Two open transactions both append (neither waits for the other's commit); every lane verifies,
    and a transaction that appends twice stays on its lane."""
    if not os.environ.get("ZHIXIAN_TEST_PG"):
        pytest.skip("PostgreSQL not configured (ZHIXIAN_TEST_PG)")
    node = make_node(tmp_path, "postgresql", seed_demo=False)
    try:
        first, second = node.db.sessionmaker(), node.db.sessionmaker()
        with first.begin(), second.begin():
            a = [audit.record(first, CTX, action="export", object_id=i) for i in range(2)]
            b = [audit.record(second, CTX, action="export", object_id=i) for i in range(2)]
            assert {r.lane for r in a} == {0}
            assert {r.lane for r in b} == {1}
        first.close()
        second.close()
        with node.db.transaction() as session:  # the lanes are free again: the next writer takes lane 0
            assert audit.record(session, CTX, action="export").lane == 0
        with node.db.transaction() as session:
            result = audit.verify(session)
            assert result.ok, result.problems
            lanes = session.execute(select(AuditRecord.lane, AuditRecord.prev_hash).order_by(AuditRecord.id)).all()
            assert [lane for lane, _ in lanes].count(1) == 2
            assert lanes[0].prev_hash == audit.GENESIS
    finally:
        dispose_node(node)
