"""Gazetteer lookup by position: the case pages show the nearest standard address of every case, a
bounding-box query on (lon, lat) instead of a scan of the whole gazetteer.

Revision ID: citymgmt_0005
Revises: citymgmt_0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "citymgmt_0005"
down_revision: str | Sequence[str] | None = "citymgmt_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cm_address", schema=None) as batch_op:
        batch_op.create_index("ix_cm_address_lon_lat", ["lon", "lat"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cm_address", schema=None) as batch_op:
        batch_op.drop_index("ix_cm_address_lon_lat")
