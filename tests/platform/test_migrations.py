"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import dispose_node, make_node
from zhixian.db import Base


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """The platform's own tables (the example plugin a test elsewhere loads shares the metadata); full-text
    search objects are created by hand in the catalogue's migration, outside the models."""
    if (name or "").startswith(("catalog_resource_fts", "ix_catalog_resource_fts")):
        return False
    ours = {m.local_table.name for m in Base.registry.mappers if m.class_.__module__.startswith("zhixian.")}
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return reflected or table is None or getattr(table, "name", None) in ours


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgraded_database_matches_the_models(tmp_path: Path, backend: str) -> None:
    if backend == "postgresql" and not os.environ.get("ZHIXIAN_TEST_PG"):
        pytest.skip("PostgreSQL not configured (ZHIXIAN_TEST_PG)")
    node = make_node(tmp_path, backend, seed_demo=False, enabled_extensions=["*"])
    try:
        with node.db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _ours, "compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
    finally:
        dispose_node(node)
