"""Catalogue tables, and the full-text index (FTS5 on SQLite, GIN tsvector on PostgreSQL).

Revision ID: catalog_0001
Revises:
Create Date: 2026-11-21 05:03:39.788583
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhixian.db

revision: str = "catalog_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("catalog",)
depends_on: str | Sequence[str] | None = "platform_0001"


def upgrade() -> None:
    op.create_table(
        "catalog_system",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("builder_level", sa.String(length=8), nullable=False),
        sa.Column("builder", sa.String(length=200), nullable=False),
        sa.Column("deployment", sa.String(length=200), nullable=False),
        sa.Column("data_held", sa.Text(), nullable=False),
        sa.Column("access_status", sa.String(length=16), nullable=False),
        sa.Column("access_scope", sa.String(length=500), nullable=False),
        sa.Column("access_expires", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("created_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_catalog_system_department_id_department")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_system")),
        sa.UniqueConstraint("code", name=op.f("uq_catalog_system_code")),
    )
    with op.batch_alter_table("catalog_system", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_system_department_id"), ["department_id"], unique=False)

    op.create_table(
        "catalog_resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("base_library", sa.String(length=4), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("share_type", sa.String(length=8), nullable=False),
        sa.Column("share_condition", sa.String(length=1000), nullable=False),
        sa.Column("share_method", sa.String(length=8), nullable=False),
        sa.Column("open_type", sa.String(length=8), nullable=False),
        sa.Column("open_condition", sa.String(length=1000), nullable=False),
        sa.Column("update_cycle", sa.String(length=8), nullable=False),
        sa.Column("publish_date", sa.Date(), nullable=True),
        sa.Column("linked_codes", sa.JSON(), nullable=False),
        sa.Column("classified", sa.Boolean(), nullable=False),
        sa.Column("grade", sa.String(length=4), nullable=False),
        sa.Column("sensitivity", sa.Integer(), nullable=True),
        sa.Column("key_field", sa.String(length=64), nullable=False),
        sa.Column("management_mode", sa.String(length=200), nullable=False),
        sa.Column("service_info", sa.String(length=500), nullable=False),
        sa.Column("online_url", sa.String(length=500), nullable=False),
        sa.Column("maintainer", sa.String(length=200), nullable=False),
        sa.Column("metadata_version", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("reviewed_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.String(length=1000), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_catalog_resource_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["system_id"], ["catalog_system.id"], name=op.f("fk_catalog_resource_system_id_catalog_system")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_resource")),
        sa.UniqueConstraint("code", name=op.f("uq_catalog_resource_code")),
    )
    with op.batch_alter_table("catalog_resource", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_resource_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_resource_department_id"), ["department_id"], unique=False)
        batch_op.create_index("ix_catalog_resource_dept_status", ["department_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_resource_grade"), ["grade"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_resource_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_resource_share_type"), ["share_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_resource_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_resource_system_id"), ["system_id"], unique=False)

    op.create_table(
        "catalog_upward_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("addressee", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("granted_scope", sa.String(length=500), nullable=False),
        sa.Column("expires", sa.Date(), nullable=True),
        sa.Column("reply", sa.String(length=1000), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_id"], ["catalog_system.id"], name=op.f("fk_catalog_upward_application_system_id_catalog_system")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_upward_application")),
    )
    with op.batch_alter_table("catalog_upward_application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_upward_application_system_id"), ["system_id"], unique=False)

    op.create_table(
        "catalog_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("field_name", sa.String(length=64), nullable=False),
        sa.Column("data_type", sa.String(length=8), nullable=False),
        sa.Column("length", sa.Integer(), nullable=True),
        sa.Column("share_type", sa.String(length=8), nullable=False),
        sa.Column("sensitivity", sa.Integer(), nullable=True),
        sa.Column("grade", sa.String(length=4), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("min_value", sa.Double(), nullable=True),
        sa.Column("max_value", sa.Double(), nullable=True),
        sa.Column("masking", sa.String(length=16), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalog_resource.id"],
            name=op.f("fk_catalog_item_resource_id_catalog_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_item")),
        sa.UniqueConstraint("resource_id", "field_name", name=op.f("uq_catalog_item_resource_id_field_name")),
    )
    with op.batch_alter_table("catalog_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_item_resource_id"), ["resource_id"], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE catalog_resource_fts USING fts5("
            "search_text, content='catalog_resource', content_rowid='id')"
        )
        op.execute(
            "CREATE TRIGGER catalog_resource_fts_ai AFTER INSERT ON catalog_resource BEGIN "
            "INSERT INTO catalog_resource_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER catalog_resource_fts_ad AFTER DELETE ON catalog_resource BEGIN "
            "INSERT INTO catalog_resource_fts(catalog_resource_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER catalog_resource_fts_au AFTER UPDATE OF search_text ON catalog_resource BEGIN "
            "INSERT INTO catalog_resource_fts(catalog_resource_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); "
            "INSERT INTO catalog_resource_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
    else:
        op.execute(
            "CREATE INDEX ix_catalog_resource_fts ON catalog_resource USING GIN (to_tsvector('simple', search_text))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS catalog_resource_fts_{name}")
        op.execute("DROP TABLE IF EXISTS catalog_resource_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_catalog_resource_fts")
    with op.batch_alter_table("catalog_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_item_resource_id"))

    op.drop_table("catalog_item")
    with op.batch_alter_table("catalog_upward_application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_upward_application_system_id"))

    op.drop_table("catalog_upward_application")
    with op.batch_alter_table("catalog_resource", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_resource_system_id"))
        batch_op.drop_index(batch_op.f("ix_catalog_resource_status"))
        batch_op.drop_index(batch_op.f("ix_catalog_resource_share_type"))
        batch_op.drop_index(batch_op.f("ix_catalog_resource_kind"))
        batch_op.drop_index(batch_op.f("ix_catalog_resource_grade"))
        batch_op.drop_index("ix_catalog_resource_dept_status")
        batch_op.drop_index(batch_op.f("ix_catalog_resource_department_id"))
        batch_op.drop_index(batch_op.f("ix_catalog_resource_category"))

    op.drop_table("catalog_resource")
    with op.batch_alter_table("catalog_system", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_system_department_id"))

    op.drop_table("catalog_system")
