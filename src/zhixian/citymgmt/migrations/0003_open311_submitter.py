"""Source address of public (Open311) submissions, so reports can be capped per address and hour.

Revision ID: citymgmt_0003
Revises: citymgmt_0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "citymgmt_0003"
down_revision: str | Sequence[str] | None = "citymgmt_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cm_case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reporter_ip", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_cm_case_ip_reported", ["reporter_ip", "reported_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cm_case", schema=None) as batch_op:
        batch_op.drop_index("ix_cm_case_ip_reported")
        batch_op.drop_column("reporter_ip")
