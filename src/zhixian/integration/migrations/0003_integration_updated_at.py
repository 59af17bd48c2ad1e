"""Indexes on the base tables' updated_at: the change feed's sweep reads rows updated since its last pass.

Without them the sweep scans every person, legal person and departmental record every 30 seconds.

Revision ID: integration_0003
Revises: integration_0002
Create Date: 2026-12-07 03:32:46.725569
"""

from collections.abc import Sequence

from alembic import op

revision: str = "integration_0003"
down_revision: str | Sequence[str] | None = "integration_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("integration_legal_person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_legal_person_updated_at"), ["updated_at"], unique=False)

    with op.batch_alter_table("integration_person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_person_updated_at"), ["updated_at"], unique=False)

    with op.batch_alter_table("integration_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_record_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("integration_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_record_updated_at"))

    with op.batch_alter_table("integration_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_person_updated_at"))

    with op.batch_alter_table("integration_legal_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_legal_person_updated_at"))
