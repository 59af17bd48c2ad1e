"""The example extension's own table, on its own branch.

Revision ID: hello_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhixian.db

revision: str = "hello_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("hello",)
depends_on: str | Sequence[str] | None = ("platform_0001",)


def upgrade() -> None:
    op.create_table(
        "hello_greeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=100), nullable=False),
        sa.Column("created_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hello_greeting")),
    )


def downgrade() -> None:
    op.drop_table("hello_greeting")
