"""Billing: a meter's own alarm levels and overload limit (recorded with its credit changes); the tariff's
one-time ``pushed`` flag goes (what a meter holds is compared with the tariff in force every round).

Revision ID: 0014_billing_desired_state
Revises: 0011_billing_entries_covering
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_billing_desired_state"
down_revision = "0011_billing_entries_covering"
branch_labels = None
depends_on = None

THRESHOLDS = (("alarm1_fen", sa.BigInteger), ("alarm2_fen", sa.BigInteger), ("overload_w", sa.Integer))


def upgrade() -> None:
    """Add the threshold columns to meters and credit changes; drop the tariff version's pushed flag."""
    for table in ("billing_meters", "billing_credit_changes"):
        with op.batch_alter_table(table) as batch:
            for name, kind in THRESHOLDS:
                batch.add_column(sa.Column(name, kind()))
    with op.batch_alter_table("billing_tariff_versions") as batch:
        batch.drop_column("pushed")


def downgrade() -> None:
    """Put the pushed flag back (every version counts as pushed) and drop the threshold columns."""
    with op.batch_alter_table("billing_tariff_versions") as batch:
        batch.add_column(sa.Column("pushed", sa.Boolean(), nullable=False, server_default=sa.true()))
    for table in ("billing_credit_changes", "billing_meters"):
        with op.batch_alter_table(table) as batch:
            for name, _kind in THRESHOLDS:
                batch.drop_column(name)
