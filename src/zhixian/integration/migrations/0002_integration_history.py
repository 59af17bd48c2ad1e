"""Imports lose nothing silently: same-key conflicts, one quarantine entry per department and content,
the runs that met each entry, the history of every changed value, deletable file sources.

Existing quarantine entries keep their source's department and resource, get a fingerprint that
keeps them distinct (they were unique per source and row number), and one sighting by the run that
recorded them, so every run's report still links to its rows.

Revision ID: integration_0002
Revises: integration_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhixian.db

revision: str = "integration_0002"
down_revision: str | Sequence[str] | None = "integration_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("integration_source", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", zhixian.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_by", sa.String(length=64), nullable=False, server_default=""))
    with op.batch_alter_table("integration_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_conflicts", sa.Integer(), nullable=False, server_default="0"))
    for table in ("integration_record", "integration_person", "integration_legal_person"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("last_row", sa.Integer(), nullable=False, server_default="0"))

    with op.batch_alter_table("integration_quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resource_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("kind", sa.String(length=12), nullable=False, server_default="invalid"))
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("other_row", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("conflict_enc", sa.Text(), nullable=True))
    op.execute(
        "UPDATE integration_quarantine SET "
        "department_id = (SELECT s.department_id FROM integration_source s WHERE s.id = integration_quarantine.source_id), "
        "resource_id = (SELECT s.resource_id FROM integration_source s WHERE s.id = integration_quarantine.source_id), "
        # unique per (source, row hash) before: per department the pair stays unique
        "fingerprint = 'legacy-' || CAST(source_id AS VARCHAR(20)) || '-' || substr(row_hash, 1, 40)"
    )
    with op.batch_alter_table("integration_quarantine", schema=None) as batch_op:
        batch_op.alter_column("department_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("resource_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("fingerprint", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint("uq_integration_quarantine_source_id_row_hash", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_integration_quarantine_department_id_fingerprint"), ["department_id", "fingerprint"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_integration_quarantine_department_id_department"), "department", ["department_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_integration_quarantine_resource_id_catalog_resource"),
            "catalog_resource",
            ["resource_id"],
            ["id"],
        )
        batch_op.create_index(batch_op.f("ix_integration_quarantine_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_integration_quarantine_resource_id"), ["resource_id"], unique=False)

    op.create_table(
        "integration_quarantine_sighting",
        sa.Column("id", BigId, nullable=False),
        sa.Column("quarantine_id", BigId, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["quarantine_id"],
            ["integration_quarantine.id"],
            name=op.f("fk_integration_quarantine_sighting_quarantine_id_integration_quarantine"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["integration_run.id"],
            name=op.f("fk_integration_quarantine_sighting_run_id_integration_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_quarantine_sighting")),
        sa.UniqueConstraint(
            "run_id", "quarantine_id", name=op.f("uq_integration_quarantine_sighting_run_id_quarantine_id")
        ),
    )
    with op.batch_alter_table("integration_quarantine_sighting", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_integration_quarantine_sighting_quarantine_id"), ["quarantine_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_integration_quarantine_sighting_run_id"), ["run_id"], unique=False)
    op.execute(
        "INSERT INTO integration_quarantine_sighting (quarantine_id, run_id, row_number) "
        "SELECT id, run_id, row_number FROM integration_quarantine"
    )

    op.create_table(
        "integration_change",
        sa.Column("id", BigId, nullable=False),
        sa.Column("entity", sa.String(length=12), nullable=False),
        sa.Column("entity_id", BigId, nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("old_enc", sa.Text(), nullable=True),
        sa.Column("new_enc", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("changed_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_integration_change_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["catalog_resource.id"], name=op.f("fk_integration_change_resource_id_catalog_resource")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["integration_run.id"],
            name=op.f("fk_integration_change_run_id_integration_run"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["integration_source.id"],
            name=op.f("fk_integration_change_source_id_integration_source"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_change")),
    )
    with op.batch_alter_table("integration_change", schema=None) as batch_op:
        batch_op.create_index("ix_integration_change_entity", ["entity", "entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_integration_change_resource_id"), ["resource_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_integration_change_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_table("integration_change")
    op.drop_table("integration_quarantine_sighting")
    # entries merged across sources cannot be split again: keep one per (source, fingerprint)
    op.execute("UPDATE integration_quarantine SET row_hash = fingerprint WHERE fingerprint NOT LIKE 'legacy-%'")
    with op.batch_alter_table("integration_quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_quarantine_resource_id"))
        batch_op.drop_index(batch_op.f("ix_integration_quarantine_department_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_integration_quarantine_resource_id_catalog_resource"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_integration_quarantine_department_id_department"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_integration_quarantine_department_id_fingerprint"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_integration_quarantine_source_id_row_hash"), ["source_id", "row_hash"]
        )
        for column in ("conflict_enc", "other_row", "fingerprint", "kind", "resource_id", "department_id"):
            batch_op.drop_column(column)
    for table in ("integration_legal_person", "integration_person", "integration_record"):
        _drop_column(table, "last_row")
    _drop_column("integration_run", "key_conflicts")
    _drop_column("integration_source", "deleted_by")
    _drop_column("integration_source", "deleted_at")


def _drop_column(table: str, column: str) -> None:
    """SQLite's own DROP COLUMN: a batch copy would drop and recreate the table, and dropping a parent
    table with foreign keys on deletes its children (runs, quarantine) by their ON DELETE CASCADE."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)
