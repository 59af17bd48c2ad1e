"""integration_0002 on a county that has already loaded data: every quarantine row survives, keeps its
department and resource, and is linked to the run that recorded it; the downgrade goes back cleanly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from tests.conftest import dispose_node, make_node
from zhixian.migrate import alembic_config


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0002_upgrades_loaded_data_and_downgrades(tmp_path: Path, backend: str) -> None:
    if backend == "postgresql" and not os.environ.get("ZHIXIAN_TEST_PG"):
        pytest.skip("PostgreSQL not configured (ZHIXIAN_TEST_PG)")
    node = make_node(tmp_path, backend, seed_demo=True)
    try:
        cfg = alembic_config(node.registry, node.settings.effective_database_url)
        command.downgrade(cfg, "integration_0001")
        with node.db.engine.begin() as conn:
            source = conn.execute(text("SELECT min(source_id) FROM integration_quarantine")).scalar_one()
            assert source is not None
            # a second source of the same department holding the same bad row (as 0001 allowed)
            conn.execute(
                text(
                    "INSERT INTO integration_source (name, kind, department_id, resource_id, config, file_path, "
                    "file_name, file_sha256, incremental, watermark_column, watermark_value, schedule, "
                    "mapping_version, active, created_by, created_at) SELECT name || '（副本）', kind, "
                    "department_id, resource_id, config, file_path, file_name, file_sha256, incremental, "
                    "watermark_column, watermark_value, schedule, mapping_version, active, created_by, created_at "
                    "FROM integration_source WHERE id = :s"
                ),
                {"s": source},
            )
            copy = conn.execute(text("SELECT max(id) FROM integration_source")).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO integration_quarantine (source_id, run_id, row_number, row_hash, data_enc, reasons, "
                    "reason, status, resolved_by) SELECT :c, run_id, row_number, row_hash, data_enc, reasons, reason, "
                    "status, resolved_by FROM integration_quarantine WHERE source_id = :s"
                ),
                {"c": copy, "s": source},
            )
            before = conn.execute(text("SELECT count(*) FROM integration_quarantine")).scalar_one()
            assert before >= 2

        command.upgrade(cfg, "heads")
        with node.db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT q.department_id, s.department_id, q.resource_id, s.resource_id, q.kind, q.fingerprint "
                    "FROM integration_quarantine q JOIN integration_source s ON s.id = q.source_id"
                )
            ).all()
            assert len(rows) == before
            assert all(r[0] == r[1] and r[2] == r[3] and r[4] == "invalid" for r in rows)
            assert len({(r[0], r[5]) for r in rows}) == before
            sightings = conn.execute(
                text(
                    "SELECT count(*) FROM integration_quarantine_sighting g JOIN integration_quarantine q "
                    "ON q.id = g.quarantine_id AND q.run_id = g.run_id AND q.row_number = g.row_number"
                )
            ).scalar_one()
            assert sightings == before

        command.downgrade(cfg, "integration_0001")
        with node.db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM integration_quarantine")).scalar_one() == before
        command.upgrade(cfg, "heads")
    finally:
        dispose_node(node)
