"""Automation tables: alarm records, and friendly-credit actions waiting for their window.

Revision ID: 0005_automation
Revises: 0001_core
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_automation"
down_revision = "0001_core"
branch_labels = ("automation",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create alarms and friendly_credit_actions."""
    op.create_table(
        "alarms",
        sa.Column("id", ID, primary_key=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("entity_id", sa.String(255)),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("cleared_ts", sa.Float()),
        sa.PrimaryKeyConstraint("id", name="pk_alarms"),
    )
    op.create_index("ix_alarms_ts", "alarms", ["ts"])
    op.create_index("ix_alarms_entity_kind", "alarms", ["entity_id", "kind"])
    op.create_table(
        "friendly_credit_actions",
        sa.Column("entity_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("since_ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "kind", name="pk_friendly_credit_actions"),
    )


def downgrade() -> None:
    """Drop the automation tables."""
    op.drop_table("friendly_credit_actions")
    op.drop_table("alarms")
