"""Payments: the meter a top-up order was paid for (the tenant's choice), carried through the provider round trip.

Revision ID: 0018_order_meter
Revises: 0012_topup_secret
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_order_meter"
down_revision = "0012_topup_secret"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the chosen meter (None: the account's top-up rule decides)."""
    with op.batch_alter_table("alipay_orders") as batch:
        batch.add_column(sa.Column("meter_entity_id", sa.String(255), nullable=True))


def downgrade() -> None:
    """Drop it (the orders stay)."""
    with op.batch_alter_table("alipay_orders") as batch:
        batch.drop_column("meter_entity_id")
