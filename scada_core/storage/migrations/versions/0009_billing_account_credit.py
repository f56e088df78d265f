"""Billing: the credit change record also holds changes of an account's own policy (no meter).

Revision ID: 0009_billing_account_credit
Revises: 0008_billing_meter_credit
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_billing_account_credit"
down_revision = "0008_billing_meter_credit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Let a change name no meter (an account's change) and find changes by account."""
    with op.batch_alter_table("billing_credit_changes") as batch:
        batch.alter_column("meter_entity_id", existing_type=sa.String(255), nullable=True)
    op.create_index("ix_billing_credit_changes_account_ts", "billing_credit_changes", ["account_id", "ts"])


def downgrade() -> None:
    """Drop account changes and make the meter required again."""
    op.drop_index("ix_billing_credit_changes_account_ts", "billing_credit_changes")
    op.execute("DELETE FROM billing_credit_changes WHERE meter_entity_id IS NULL")
    with op.batch_alter_table("billing_credit_changes") as batch:
        batch.alter_column("meter_entity_id", existing_type=sa.String(255), nullable=False)
