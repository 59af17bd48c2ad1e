"""Maps: the basemap setting (one row, key stored encrypted) and an extent index for the gazetteer layer.

Revision ID: citymgmt_0006
Revises: citymgmt_0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhixian.db

revision: str = "citymgmt_0006"
down_revision: str | Sequence[str] | None = "citymgmt_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cm_basemap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("labels_url", sa.String(length=1000), nullable=False),
        sa.Column("subdomains", sa.String(length=16), nullable=False),
        sa.Column("key_enc", sa.String(length=600), nullable=True),
        sa.Column("key_fingerprint", sa.String(length=12), nullable=False),
        sa.Column("file", sa.String(length=200), nullable=False),
        sa.Column("labels_file", sa.String(length=200), nullable=False),
        sa.Column("min_zoom", sa.Integer(), nullable=False),
        sa.Column("max_zoom", sa.Integer(), nullable=False),
        sa.Column("attribution", sa.String(length=200), nullable=False),
        sa.Column("updated_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cm_basemap")),
    )
    # the gazetteer layer's extent queries use ix_cm_address_lon_lat, added by citymgmt_0005


def downgrade() -> None:
    op.drop_table("cm_basemap")
