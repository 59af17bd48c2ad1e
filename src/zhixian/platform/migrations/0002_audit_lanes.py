"""Parallel audit chains (lanes), so concurrent PostgreSQL transactions no longer queue behind one lock.

Existing records keep their hashes: they all form lane 0.

Revision ID: platform_0002
Revises: platform_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "platform_0002"
down_revision: str | Sequence[str] | None = "platform_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.SmallInteger(), server_default="0", nullable=False))
        batch_op.create_index("ix_audit_record_lane_id", ["lane", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_record_lane_id")
        batch_op.drop_column("lane")
