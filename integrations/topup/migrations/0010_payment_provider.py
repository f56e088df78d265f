"""Payments: the orders table is shared by the top-up providers; each order names its provider.

Revision ID: 0010_payment_provider
Revises: 0007_alipay
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_payment_provider"
down_revision = "0007_alipay"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the provider column (existing orders are Alipay's) and find a provider's orders by state."""
    with op.batch_alter_table("alipay_orders") as batch:
        batch.add_column(sa.Column("provider", sa.String(16), nullable=False, server_default="alipay"))
    op.create_index("ix_alipay_orders_provider", "alipay_orders", ["provider"])


def downgrade() -> None:
    """Drop the provider column and its index (the rows stay)."""
    op.drop_index("ix_alipay_orders_provider", "alipay_orders")
    with op.batch_alter_table("alipay_orders") as batch:
        batch.drop_column("provider")
