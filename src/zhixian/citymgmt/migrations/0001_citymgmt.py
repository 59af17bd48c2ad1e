"""citymgmt tables

Revision ID: citymgmt_0001
Revises:
Create Date: 2026-11-21 05:06:14.069546
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhixian.db

revision: str = "citymgmt_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("citymgmt",)
depends_on: str | Sequence[str] | None = "platform_0001"


def upgrade() -> None:
    op.create_table(
        "cm_address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("tokens", sa.String(length=600), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cm_address")),
    )
    op.create_table(
        "cm_area",
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.Column("wkt", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("division_code", name=op.f("pk_cm_area")),
    )
    with op.batch_alter_table("cm_area", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cm_area_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "cm_class",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("parent_code", sa.String(length=8), nullable=True),
        sa.Column("filing_standard", sa.String(length=500), nullable=False),
        sa.Column("closing_standard", sa.String(length=500), nullable=False),
        sa.Column("limit_value", sa.Float(), nullable=False),
        sa.Column("limit_unit", sa.String(length=8), nullable=False),
        sa.Column("urgent_value", sa.Float(), nullable=False),
        sa.Column("urgent_unit", sa.String(length=8), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_cm_class")),
    )
    with op.batch_alter_table("cm_class", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cm_class_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "cm_config",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cm_config")),
    )
    op.create_table(
        "cm_geo_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cm_geo_version")),
    )
    op.create_table(
        "cm_component",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("class_code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner_department_id", sa.Integer(), nullable=True),
        sa.Column("maintainer_department_id", sa.Integer(), nullable=True),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("initial_date", sa.String(length=10), nullable=False),
        sa.Column("changed_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("data_source", sa.String(length=50), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["maintainer_department_id"],
            ["department.id"],
            name=op.f("fk_cm_component_maintainer_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_department_id"], ["department.id"], name=op.f("fk_cm_component_owner_department_id_department")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cm_component")),
        sa.UniqueConstraint("code", name=op.f("uq_cm_component_code")),
    )
    with op.batch_alter_table("cm_component", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cm_component_class_code"), ["class_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cm_component_grid_code"), ["grid_code"], unique=False)

    op.create_table(
        "cm_case",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("class_code", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("coord_note", sa.String(length=20), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.Column("street_code", sa.String(length=12), nullable=True),
        sa.Column("component_code", sa.String(length=16), nullable=True),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.String(length=100), nullable=False),
        sa.Column("reporter_contact_enc", sa.String(length=255), nullable=True),
        sa.Column("external_ref", sa.String(length=64), nullable=True),
        sa.Column("token", sa.String(length=40), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("department_path", sa.String(length=255), nullable=True),
        sa.Column("merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reported_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("filed_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("filed_on_time", sa.Boolean(), nullable=True),
        sa.Column("dispatched_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deadline", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("warn_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handle_seconds", sa.Double(), nullable=True),
        sa.Column("completed_on_time", sa.Boolean(), nullable=True),
        sa.Column("closed_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("self_disposed", sa.Boolean(), nullable=False),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("postpone_count", sa.Integer(), nullable=False),
        sa.Column("hold_count", sa.Integer(), nullable=False),
        sa.Column("supervise_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"], name=op.f("fk_cm_case_department_id_department")),
        sa.ForeignKeyConstraint(["merged_into_id"], ["cm_case.id"], name=op.f("fk_cm_case_merged_into_id_cm_case")),
        sa.ForeignKeyConstraint(["reporter_id"], ["user_account.id"], name=op.f("fk_cm_case_reporter_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cm_case")),
        sa.UniqueConstraint("number", name=op.f("uq_cm_case_number")),
        sa.UniqueConstraint("token", name=op.f("uq_cm_case_token")),
    )
    with op.batch_alter_table("cm_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cm_case_class_code"), ["class_code"], unique=False)
        batch_op.create_index("ix_cm_case_community_reported", ["community_code", "reported_at"], unique=False)
        batch_op.create_index("ix_cm_case_dept_dispatched", ["department_id", "dispatched_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cm_case_external_ref"), ["external_ref"], unique=False)
        batch_op.create_index("ix_cm_case_grid_status", ["grid_code", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_cm_case_merged_into_id"), ["merged_into_id"], unique=False)
        batch_op.create_index("ix_cm_case_reported", ["reported_at"], unique=False)
        batch_op.create_index("ix_cm_case_reporter_reported", ["reporter_id", "reported_at"], unique=False)
        batch_op.create_index("ix_cm_case_status_deadline", ["status", "deadline"], unique=False)
        batch_op.create_index(batch_op.f("ix_cm_case_street_code"), ["street_code"], unique=False)

    op.create_table(
        "cm_grid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("community_code", sa.String(length=12), nullable=False),
        sa.Column("street_code", sa.String(length=12), nullable=False),
        sa.Column("wkt", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["inspector_id"], ["user_account.id"], name=op.f("fk_cm_grid_inspector_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cm_grid")),
        sa.UniqueConstraint("code", name=op.f("uq_cm_grid_code")),
    )
    with op.batch_alter_table("cm_grid", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cm_grid_community_code"), ["community_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cm_grid_inspector_id"), ["inspector_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cm_grid_street_code"), ["street_code"], unique=False)

    op.create_table(
        "cm_case_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cm_case.id"], name=op.f("fk_cm_case_event_case_id_cm_case"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cm_case_event")),
    )
    with op.batch_alter_table("cm_case_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cm_case_event_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cm_case_event_step"), ["step"], unique=False)

    op.create_table(
        "cm_case_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cm_case.id"], name=op.f("fk_cm_case_photo_case_id_cm_case"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cm_case_photo")),
    )
    with op.batch_alter_table("cm_case_photo", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cm_case_photo_case_id"), ["case_id"], unique=False)

    op.create_table(
        "cm_notice",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cm_case.id"], name=op.f("fk_cm_notice_case_id_cm_case"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cm_notice")),
    )
    with op.batch_alter_table("cm_notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cm_notice_case_id"), ["case_id"], unique=False)

    op.create_table(
        "cm_postponement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("days", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=False),
        sa.Column("old_deadline", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("new_deadline", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cm_case.id"], name=op.f("fk_cm_postponement_case_id_cm_case"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cm_postponement")),
    )
    with op.batch_alter_table("cm_postponement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cm_postponement_case_id"), ["case_id"], unique=False)

    op.create_table(
        "cm_task",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("created_at", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline", zhixian.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", zhixian.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["assignee_id"], ["user_account.id"], name=op.f("fk_cm_task_assignee_id_user_account")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cm_case.id"], name=op.f("fk_cm_task_case_id_cm_case"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cm_task")),
    )
    with op.batch_alter_table("cm_task", schema=None) as batch_op:
        batch_op.create_index("ix_cm_task_assignee_open", ["assignee_id", "done_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cm_task_case_id"), ["case_id"], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("cm_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cm_task_case_id"))
        batch_op.drop_index("ix_cm_task_assignee_open")

    op.drop_table("cm_task")
    with op.batch_alter_table("cm_postponement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cm_postponement_case_id"))

    op.drop_table("cm_postponement")
    with op.batch_alter_table("cm_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cm_notice_case_id"))

    op.drop_table("cm_notice")
    with op.batch_alter_table("cm_case_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cm_case_photo_case_id"))

    op.drop_table("cm_case_photo")
    with op.batch_alter_table("cm_case_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cm_case_event_step"))
        batch_op.drop_index(batch_op.f("ix_cm_case_event_case_id"))

    op.drop_table("cm_case_event")
    with op.batch_alter_table("cm_grid", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cm_grid_street_code"))
        batch_op.drop_index(batch_op.f("ix_cm_grid_inspector_id"))
        batch_op.drop_index(batch_op.f("ix_cm_grid_community_code"))

    op.drop_table("cm_grid")
    with op.batch_alter_table("cm_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cm_case_street_code"))
        batch_op.drop_index("ix_cm_case_status_deadline")
        batch_op.drop_index("ix_cm_case_reporter_reported")
        batch_op.drop_index("ix_cm_case_reported")
        batch_op.drop_index(batch_op.f("ix_cm_case_merged_into_id"))
        batch_op.drop_index("ix_cm_case_grid_status")
        batch_op.drop_index(batch_op.f("ix_cm_case_external_ref"))
        batch_op.drop_index("ix_cm_case_dept_dispatched")
        batch_op.drop_index("ix_cm_case_community_reported")
        batch_op.drop_index(batch_op.f("ix_cm_case_class_code"))

    op.drop_table("cm_case")
    with op.batch_alter_table("cm_component", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cm_component_grid_code"))
        batch_op.drop_index(batch_op.f("ix_cm_component_class_code"))

    op.drop_table("cm_component")
    op.drop_table("cm_geo_version")
    op.drop_table("cm_config")
    with op.batch_alter_table("cm_class", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cm_class_parent_code"))

    op.drop_table("cm_class")
    with op.batch_alter_table("cm_area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cm_area_parent_code"))

    op.drop_table("cm_area")
    op.drop_table("cm_address")
    # ### end Alembic commands ###
