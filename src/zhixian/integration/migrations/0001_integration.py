"""Integration tables: sources, mappings, runs, quarantine, base databases, conflicts, quality.

Revision ID: integration_0001
Revises:
Create Date: 2026-11-21 05:11:16.735237
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhixian.db

revision: str = "integration_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("integration",)
depends_on: str | Sequence[str] | None = ["platform_0001", "catalog_0001"]


def upgrade() -> None:
    op.create_table(
        "integration_legal_person",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_rep", sa.String(length=50), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("established", sa.Date(), nullable=True),
        sa.Column("capital", sa.Double(), nullable=True),
        sa.Column("phone_enc", sa.String(length=255), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=False),
        sa.Column("phone_masked", sa.String(length=20), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=40), nullable=False),
        sa.Column("first_run_id", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_legal_person")),
        sa.UniqueConstraint("uscc", name=op.f("uq_integration_legal_person_uscc")),
    )
    with op.batch_alter_table("integration_legal_person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_legal_person_division_code"), ["division_code"], unique=False)

    op.create_table(
        "integration_person",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id_index", sa.String(length=64), nullable=False),
        sa.Column("id_enc", sa.String(length=255), nullable=False),
        sa.Column("id_masked", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("gender", sa.String(length=2), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("phone_enc", sa.String(length=255), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=False),
        sa.Column("phone_masked", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=40), nullable=False),
        sa.Column("first_run_id", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_person")),
        sa.UniqueConstraint("id_index", name=op.f("uq_integration_person_id_index")),
    )
    with op.batch_alter_table("integration_person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_person_division_code"), ["division_code"], unique=False)

    op.create_table(
        "integration_quality",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("completeness", sa.Double(), nullable=False),
        sa.Column("validity", sa.Double(), nullable=False),
        sa.Column("timeliness", sa.Double(), nullable=False),
        sa.Column("duplication", sa.Double(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("last_load_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["catalog_resource.id"], name=op.f("fk_integration_quality_resource_id_catalog_resource")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_quality")),
        sa.UniqueConstraint("resource_id", "day", name=op.f("uq_integration_quality_resource_id_day")),
    )
    with op.batch_alter_table("integration_quality", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_quality_resource_id"), ["resource_id"], unique=False)

    op.create_table(
        "integration_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=True),
        sa.Column("file_path", sa.String(length=500), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("incremental", sa.String(length=12), nullable=False),
        sa.Column("watermark_column", sa.String(length=100), nullable=False),
        sa.Column("watermark_value", sa.String(length=100), nullable=False),
        sa.Column("schedule", sa.String(length=100), nullable=False),
        sa.Column("next_run_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("mapping_version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_integration_source_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["catalog_resource.id"], name=op.f("fk_integration_source_resource_id_catalog_resource")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_source")),
    )
    with op.batch_alter_table("integration_source", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_source_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_integration_source_resource_id"), ["resource_id"], unique=False)

    op.create_table(
        "integration_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["integration_source.id"],
            name=op.f("fk_integration_mapping_source_id_integration_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_mapping")),
        sa.UniqueConstraint("source_id", "version", name=op.f("uq_integration_mapping_source_id_version")),
    )
    with op.batch_alter_table("integration_mapping", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_mapping_source_id"), ["source_id"], unique=False)

    op.create_table(
        "integration_record",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("first_run_id", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["catalog_resource.id"], name=op.f("fk_integration_record_resource_id_catalog_resource")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["integration_source.id"],
            name=op.f("fk_integration_record_source_id_integration_source"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_record")),
        sa.UniqueConstraint("resource_id", "key", name=op.f("uq_integration_record_resource_id_key")),
    )
    with op.batch_alter_table("integration_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_record_resource_id"), ["resource_id"], unique=False)

    op.create_table(
        "integration_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("trigger", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("mapping_version", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("source_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("started_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("checkpoint", sa.Integer(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("loaded", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("conflicts", sa.Integer(), nullable=False),
        sa.Column("watermark_to", sa.String(length=100), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=False),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_integration_run_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["catalog_resource.id"], name=op.f("fk_integration_run_resource_id_catalog_resource")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["integration_source.id"],
            name=op.f("fk_integration_run_source_id_integration_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_run")),
    )
    with op.batch_alter_table("integration_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_run_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_integration_run_resource_id"), ["resource_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_integration_run_source_id"), ["source_id"], unique=False)

    op.create_table(
        "integration_conflict",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entity", sa.String(length=12), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("current_enc", sa.Text(), nullable=False),
        sa.Column("current_department_id", sa.Integer(), nullable=True),
        sa.Column("incoming_enc", sa.Text(), nullable=False),
        sa.Column("incoming_hash", sa.String(length=64), nullable=False),
        sa.Column("incoming_department_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("owner_department_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("resolved_by", sa.String(length=64), nullable=False),
        sa.Column("resolved_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_department_id"],
            ["department.id"],
            name=op.f("fk_integration_conflict_owner_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["integration_run.id"],
            name=op.f("fk_integration_conflict_run_id_integration_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_conflict")),
    )
    with op.batch_alter_table("integration_conflict", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_conflict_entity_id"), ["entity_id"], unique=False)
        batch_op.create_index(
            "ix_integration_conflict_key", ["entity", "entity_id", "field", "incoming_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_integration_conflict_owner_department_id"), ["owner_department_id"], unique=False
        )

    op.create_table(
        "integration_quarantine",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("data_enc", sa.Text(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("resolved_by", sa.String(length=64), nullable=False),
        sa.Column("resolved_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["integration_run.id"],
            name=op.f("fk_integration_quarantine_run_id_integration_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["integration_source.id"],
            name=op.f("fk_integration_quarantine_source_id_integration_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_quarantine")),
        sa.UniqueConstraint("source_id", "row_hash", name=op.f("uq_integration_quarantine_source_id_row_hash")),
    )
    with op.batch_alter_table("integration_quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_quarantine_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_integration_quarantine_source_id"), ["source_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("integration_quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_quarantine_source_id"))
        batch_op.drop_index(batch_op.f("ix_integration_quarantine_run_id"))

    op.drop_table("integration_quarantine")
    with op.batch_alter_table("integration_conflict", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_conflict_owner_department_id"))
        batch_op.drop_index("ix_integration_conflict_key")
        batch_op.drop_index(batch_op.f("ix_integration_conflict_entity_id"))

    op.drop_table("integration_conflict")
    with op.batch_alter_table("integration_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_run_source_id"))
        batch_op.drop_index(batch_op.f("ix_integration_run_resource_id"))
        batch_op.drop_index(batch_op.f("ix_integration_run_department_id"))

    op.drop_table("integration_run")
    with op.batch_alter_table("integration_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_record_resource_id"))

    op.drop_table("integration_record")
    with op.batch_alter_table("integration_mapping", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_mapping_source_id"))

    op.drop_table("integration_mapping")
    with op.batch_alter_table("integration_source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_source_resource_id"))
        batch_op.drop_index(batch_op.f("ix_integration_source_department_id"))

    op.drop_table("integration_source")
    with op.batch_alter_table("integration_quality", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_quality_resource_id"))

    op.drop_table("integration_quality")
    with op.batch_alter_table("integration_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_person_division_code"))

    op.drop_table("integration_person")
    with op.batch_alter_table("integration_legal_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_legal_person_division_code"))

    op.drop_table("integration_legal_person")
