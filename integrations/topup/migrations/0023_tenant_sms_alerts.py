"""Tenant logins: whether the tenant wants text messages about its account (低额提醒 and the like).

Revision ID: 0023_tenant_sms_alerts
Revises: 0019_topup_orders
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_tenant_sms_alerts"
down_revision = "0019_topup_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column; every tenant keeps getting them until it says otherwise."""
    with op.batch_alter_table("tenant_credentials") as batch:
        batch.add_column(sa.Column("sms_alerts", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("tenant_credentials") as batch:
        batch.drop_column("sms_alerts")
