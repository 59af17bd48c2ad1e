"""operations view indexes

Revision ID: citymgmt_0002
Revises: citymgmt_0001
Create Date: 2026-11-21 05:49:56.951938
"""

from collections.abc import Sequence

from alembic import op

revision: str = "citymgmt_0002"
down_revision: str | Sequence[str] | None = "citymgmt_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cm_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cm_case_grid_status"))
        batch_op.drop_index(batch_op.f("ix_cm_case_reported"))
        batch_op.create_index(
            "ix_cm_case_dispatched",
            ["dispatched_at", "department_id"],
            unique=False,
            postgresql_include=[
                "status",
                "closed_at",
                "completed_on_time",
                "rework_count",
                "postpone_count",
                "hold_count",
                "handle_seconds",
            ],
        )
        batch_op.create_index(
            "ix_cm_case_reported_mix", ["reported_at", "source", "class_code", "street_code"], unique=False
        )
        batch_op.create_index("ix_cm_case_status_closed", ["status", "closed_at"], unique=False)
        batch_op.create_index("ix_cm_case_status_grid", ["status", "grid_code", "deadline"], unique=False)

    with op.batch_alter_table("cm_case_event", schema=None) as batch_op:
        batch_op.create_index("ix_cm_case_event_step_at", ["step", "at", "department_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cm_case_event", schema=None) as batch_op:
        batch_op.drop_index("ix_cm_case_event_step_at")

    with op.batch_alter_table("cm_case", schema=None) as batch_op:
        batch_op.drop_index("ix_cm_case_status_grid")
        batch_op.drop_index("ix_cm_case_status_closed")
        batch_op.drop_index("ix_cm_case_reported_mix")
        batch_op.drop_index(
            "ix_cm_case_dispatched",
            postgresql_include=[
                "status",
                "closed_at",
                "completed_on_time",
                "rework_count",
                "postpone_count",
                "hold_count",
                "handle_seconds",
            ],
        )
        batch_op.create_index(batch_op.f("ix_cm_case_reported"), ["reported_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cm_case_grid_status"), ["grid_code", "status"], unique=False)
