"""Billing: an alarm crossing keeps its reason (a tamper block's purchase counts, the operator's resolution).

Revision ID: 0017_billing_alarm_reason
Revises: 0016_topup_rule
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_billing_alarm_reason"
down_revision = "0016_topup_rule"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the reason column."""
    with op.batch_alter_table("billing_alarms") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop the reason column."""
    with op.batch_alter_table("billing_alarms") as batch:
        batch.drop_column("reason")
