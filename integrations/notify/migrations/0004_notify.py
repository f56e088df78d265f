"""Notifications: the persisted outbox of SMS and e-mail messages.

Revision ID: 0004_notify
Revises: 0001_core
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_notify"
down_revision = "0001_core"
branch_labels = ("notify",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create notify_outbox."""
    op.create_table(
        "notify_outbox",
        sa.Column("id", ID, primary_key=True),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(64)),
        sa.Column("subject", sa.Text()),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_ts", sa.Float(), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("sent_ts", sa.Float()),
        sa.Column("last_error", sa.Text()),
        sa.Column("concat_ref", sa.Integer(), nullable=False),
        sa.Column("parts_total", sa.Integer(), nullable=False),
        sa.Column("parts_sent", sa.Integer(), nullable=False),
        sa.Column("refs", sa.String(255), nullable=False),
        sa.Column("delivery", sa.String(16)),
        sa.Column("message_id", sa.String(255)),
        sa.PrimaryKeyConstraint("id", name="pk_notify_outbox"),
    )
    op.create_index("ix_notify_outbox_due", "notify_outbox", ["channel", "status", "next_attempt_ts"])
    op.create_index("ix_notify_outbox_created_ts", "notify_outbox", ["created_ts"])


def downgrade() -> None:
    """Drop notify_outbox."""
    op.drop_table("notify_outbox")
