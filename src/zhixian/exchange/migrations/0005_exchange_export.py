"""Bulk export jobs (exchange_export); calls that crossed nodes name the peer node (exchange_call.node).

Revision ID: exchange_0005
Revises: exchange_0004_federation
Create Date: 2026-12-07 03:31:42.711046
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhixian.db

revision: str = "exchange_0005"
down_revision: str | Sequence[str] | None = "exchange_0004_federation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_export",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("consumer_department_id", sa.Integer(), nullable=True),
        sa.Column("provider_department_id", sa.Integer(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=False),
        sa.Column("call_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["exchange_application.id"],
            name=op.f("fk_exchange_export_application_id_exchange_application"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["exchange_grant.id"], name=op.f("fk_exchange_export_grant_id_exchange_grant")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["catalog_resource.id"], name=op.f("fk_exchange_export_resource_id_catalog_resource")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_export")),
    )
    with op.batch_alter_table("exchange_export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_export_application_id"), ["application_id"], unique=False)
        batch_op.create_index("ix_exchange_export_due", ["status", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_exchange_export_grant_id"), ["grant_id"], unique=False)

    with op.batch_alter_table("exchange_call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("node", sa.String(length=40), server_default="", nullable=False))
        batch_op.add_column(sa.Column("node_name", sa.String(length=100), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("exchange_call", schema=None) as batch_op:
        batch_op.drop_column("node_name")
        batch_op.drop_column("node")

    with op.batch_alter_table("exchange_export", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_export_grant_id"))
        batch_op.drop_index("ix_exchange_export_due")
        batch_op.drop_index(batch_op.f("ix_exchange_export_application_id"))

    op.drop_table("exchange_export")
