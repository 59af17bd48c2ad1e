"""Change feed and subscriptions: the feed's log and sweep mark, subscriptions, and their outbox.

Revision ID: exchange_0002_feed
Revises: exchange_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhixian.db

revision: str = "exchange_0002_feed"
down_revision: str | Sequence[str] | None = "exchange_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "integration_0002"

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = zhixian.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exchange_feed_entry",
        sa.Column("id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("row_id", BigId, nullable=False),
        sa.Column("row_updated_at", Moment, nullable=False),
        sa.Column("logged_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_feed_entry")),
    )
    op.create_index("ix_exchange_feed_entry_scope", "exchange_feed_entry", ["kind", "resource_id", "id"])
    op.create_index("ix_exchange_feed_entry_row", "exchange_feed_entry", ["kind", "row_id", "row_updated_at"])
    op.create_table(
        "exchange_feed_sweep",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("swept_to", Moment, nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_feed_sweep")),
    )
    op.create_table(
        "exchange_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("consumer_department_id", sa.Integer(), nullable=False),
        sa.Column("provider_department_id", sa.Integer(), nullable=False),
        sa.Column("callback_url", sa.String(length=500), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.Column("delivered_number", sa.Integer(), nullable=False),
        sa.Column("last_delivered_at", Moment, nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["exchange_application.id"],
            name=op.f("fk_exchange_subscription_application_id_exchange_application"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["exchange_grant.id"], name=op.f("fk_exchange_subscription_grant_id_exchange_grant")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalog_resource.id"],
            name=op.f("fk_exchange_subscription_resource_id_catalog_resource"),
        ),
        sa.ForeignKeyConstraint(
            ["consumer_department_id"],
            ["department.id"],
            name=op.f("fk_exchange_subscription_consumer_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["department.id"],
            name=op.f("fk_exchange_subscription_provider_department_id_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_subscription")),
    )
    for column in ("application_id", "grant_id", "resource_id", "consumer_department_id", "provider_department_id"):
        op.create_index(op.f(f"ix_exchange_subscription_{column}"), "exchange_subscription", [column])
    op.create_table(
        "exchange_delivery",
        sa.Column("id", BigId, nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("after_seq", sa.BigInteger(), nullable=False),
        sa.Column("upto_seq", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Moment, nullable=False),
        sa.Column("claimed_until", Moment, nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("call_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("delivered_at", Moment, nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["exchange_subscription.id"],
            name=op.f("fk_exchange_delivery_subscription_id_exchange_subscription"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_delivery")),
    )
    op.create_index(
        "ix_exchange_delivery_subscription_number", "exchange_delivery", ["subscription_id", "number"], unique=True
    )
    op.create_index("ix_exchange_delivery_due", "exchange_delivery", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("exchange_delivery")
    op.drop_table("exchange_subscription")
    op.drop_table("exchange_feed_sweep")
    op.drop_table("exchange_feed_entry")
