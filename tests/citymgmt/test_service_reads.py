"""Reads the case hub's service offers to routes and to other subsystems (moved out of routes)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from zhixian.citymgmt import service


def test_exchange_feed_is_oldest_change_first_after_since_and_capped(db: Session) -> None:
    first = service.changed_since(db, since=service.LOCAL_EPOCH, limit=5)
    assert len(first) == 5
    assert [(c.updated_at, c.id) for c in first] == sorted((c.updated_at, c.id) for c in first)
    after = service.changed_since(db, since=first[2].updated_at, limit=1000)
    assert all(c.updated_at > first[2].updated_at for c in after)
    assert {c.id for c in first[3:]} <= {c.id for c in after}


def test_case_reads_come_newest_first_and_ignore_nothing(db: Session) -> None:
    ids = [c.id for c in service.changed_since(db, since=service.LOCAL_EPOCH, limit=3)]
    reads = service.case_reads(db, ids)
    assert [r.id for r in reads] == sorted(ids, reverse=True)
    assert service.case_reads(db, []) == []


def test_case_classes_of_a_source_are_its_minor_classes(db: Session) -> None:
    core = service.case_classes(db, source="citymgmt")
    assert core
    assert all(c.parent_code for c in core)
    assert [c.code for c in core] == sorted(c.code for c in core)
    assert service.case_classes(db, source="nosuch") == []
