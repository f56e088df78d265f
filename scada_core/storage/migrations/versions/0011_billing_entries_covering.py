"""Billing: a balance (SUM of an account's entries) is read from the index alone.

Revision ID: 0011_billing_entries_covering
Revises: 0009_billing_account_credit
"""

from __future__ import annotations

from alembic import op

revision = "0011_billing_entries_covering"
down_revision = "0009_billing_account_credit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Index entries by (account, amount_fen) in place of account alone."""
    op.create_index("ix_billing_entries_account_amount", "billing_entries", ["account", "amount_fen"])
    op.drop_index("ix_billing_entries_account", "billing_entries")


def downgrade() -> None:
    """Back to the index on account alone."""
    op.create_index("ix_billing_entries_account", "billing_entries", ["account"])
    op.drop_index("ix_billing_entries_account_amount", "billing_entries")
