"""Billing: an index that sums a meter's consumption charges over a time range from the index alone (the energy
report's cost column, per meter and day).

Revision ID: 0035_billing_meter_charges
Revises: 0021_billing_building_policies
"""

from __future__ import annotations

from alembic import op

revision = "0035_billing_meter_charges"
down_revision = "0021_billing_building_policies"
branch_labels = None
depends_on = None

INDEX = "ix_billing_transactions_kind_meter_ts"


def upgrade() -> None:
    """Create the covering index."""
    op.create_index(INDEX, "billing_transactions", ["kind", "meter_entity_id", "ts", "amount_fen"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index(INDEX, table_name="billing_transactions")
