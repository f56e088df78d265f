"""Top-ups of multi-meter accounts: the account's rule (lowest money or shares) and the order's chosen meter.

Revision ID: 0016_topup_rule
Revises: 0011_billing_entries_covering
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_topup_rule"
down_revision = "0011_billing_entries_covering"
branch_labels = None
depends_on = "0010_payment_provider"


def upgrade() -> None:
    """Add the account's top-up rule and shares, and the meter an order was paid for."""
    with op.batch_alter_table("billing_accounts") as batch:
        batch.add_column(sa.Column("topup_rule", sa.String(16), nullable=False, server_default="lowest"))
        batch.add_column(sa.Column("topup_shares", sa.Text(), nullable=True))
    with op.batch_alter_table("alipay_orders") as batch:
        batch.add_column(sa.Column("meter_entity_id", sa.String(255), nullable=True))


def downgrade() -> None:
    """Drop the columns (orders and accounts stay)."""
    with op.batch_alter_table("alipay_orders") as batch:
        batch.drop_column("meter_entity_id")
    with op.batch_alter_table("billing_accounts") as batch:
        batch.drop_column("topup_shares")
        batch.drop_column("topup_rule")
