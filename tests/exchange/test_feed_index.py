"""The change feed's sweep runs every 30 seconds: it must find recently updated rows through the
``updated_at`` indexes (integration_0003), not by scanning every person, legal person and record."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from zhixian.clock import utcnow
from zhixian.exchange import feed

INDEXES = {
    "integration_person": "ix_integration_person_updated_at",
    "integration_legal_person": "ix_integration_legal_person_updated_at",
    "integration_record": "ix_integration_record_updated_at",
}


def test_the_sweep_finds_recent_rows_through_the_updated_at_indexes(node, db) -> None:
    if node.db.dialect != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL's planner chooses by table size")
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "exchange_feed_entry" in statement and "updated_at >=" in statement:
            seen.append((statement, parameters))

    engine = node.db.engine
    event.listen(engine, "before_cursor_execute", grab)
    try:
        feed.sweep(db, now=utcnow())
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert len(seen) == 3, "每类基础数据各一条扫描语句"
    for statement, parameters in seen:
        table = next(t for t in INDEXES if f"FROM {t}" in statement)
        plan = db.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        details = " | ".join(str(row[-1]) for row in plan)
        assert INDEXES[table] in details, f"{table} 的扫描未使用 updated_at 索引：{details}"
        assert f"SCAN {table}" not in details, details
