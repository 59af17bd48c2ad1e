"""storefronts tables

Revision ID: storefronts_0001
Revises:
Create Date: 2026-11-21 05:14:30.817900
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhixian.db

revision: str = "storefronts_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("storefronts",)
depends_on: str | Sequence[str] | None = ["platform_0001", "citymgmt_0001"]


def upgrade() -> None:
    op.create_table(
        "sf_shop",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("contact_name", sa.String(length=50), nullable=False),
        sa.Column("contact_phone_enc", sa.String(length=255), nullable=True),
        sa.Column("contact_phone_masked", sa.String(length=20), nullable=False),
        sa.Column("zone_wkt", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("created_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sf_shop")),
        sa.UniqueConstraint("uscc", name=op.f("uq_sf_shop_uscc")),
    )
    with op.batch_alter_table("sf_shop", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sf_shop_min_lon"), ["min_lon"], unique=False)

    op.create_table(
        "sf_shop_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cm_case.id"], name=op.f("fk_sf_shop_case_case_id_cm_case"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["sf_shop.id"], name=op.f("fk_sf_shop_case_shop_id_sf_shop"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sf_shop_case")),
        sa.UniqueConstraint("case_id", name=op.f("uq_sf_shop_case_case_id")),
    )
    with op.batch_alter_table("sf_shop_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sf_shop_case_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "sf_shop_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recipient", sa.String(length=100), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cm_case.id"], name=op.f("fk_sf_shop_notice_case_id_cm_case"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["sf_shop.id"], name=op.f("fk_sf_shop_notice_shop_id_sf_shop"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sf_shop_notice")),
    )
    with op.batch_alter_table("sf_shop_notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sf_shop_notice_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sf_shop_notice_shop_id"), ["shop_id"], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("sf_shop_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sf_shop_notice_shop_id"))
        batch_op.drop_index(batch_op.f("ix_sf_shop_notice_case_id"))

    op.drop_table("sf_shop_notice")
    with op.batch_alter_table("sf_shop_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sf_shop_case_shop_id"))

    op.drop_table("sf_shop_case")
    with op.batch_alter_table("sf_shop", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sf_shop_min_lon"))

    op.drop_table("sf_shop")
    # ### end Alembic commands ###
