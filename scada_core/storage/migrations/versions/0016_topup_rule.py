"""Billing: where a top-up of a multi-meter account goes (the account's rule: lowest money or shares).

Revision ID: 0016_topup_rule
Revises: 0015_billing_control_holder
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_topup_rule"
down_revision = "0015_billing_control_holder"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the account's top-up rule and shares."""
    with op.batch_alter_table("billing_accounts") as batch:
        batch.add_column(sa.Column("topup_rule", sa.String(16), nullable=False, server_default="lowest"))
        batch.add_column(sa.Column("topup_shares", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop them (the accounts stay)."""
    with op.batch_alter_table("billing_accounts") as batch:
        batch.drop_column("topup_shares")
        batch.drop_column("topup_rule")
