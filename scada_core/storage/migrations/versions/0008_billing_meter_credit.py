"""Billing: a meter's own overdraft and credit cap (over its account's), and the record of their changes.

Revision ID: 0008_billing_meter_credit
Revises: 0003_billing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_billing_meter_credit"
down_revision = "0003_billing"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the meter's credit columns and the change record."""
    with op.batch_alter_table("billing_meters") as batch:
        batch.add_column(sa.Column("overdraft_fen", sa.BigInteger()))
        batch.add_column(sa.Column("credit_cap_fen", sa.BigInteger()))
    op.create_table(
        "billing_credit_changes",
        sa.Column("id", ID, primary_key=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("meter_entity_id", sa.String(255), nullable=False),
        sa.Column("account_id", sa.Integer()),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.Column("operator_role", sa.String(16), nullable=False),
        sa.Column("overdraft_fen", sa.BigInteger()),
        sa.Column("credit_cap_fen", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_billing_credit_changes"),
    )
    op.create_index("ix_billing_credit_changes_meter_ts", "billing_credit_changes", ["meter_entity_id", "ts"])


def downgrade() -> None:
    """Drop the change record and the meter's credit columns."""
    op.drop_table("billing_credit_changes")
    with op.batch_alter_table("billing_meters") as batch:
        batch.drop_column("credit_cap_fen")
        batch.drop_column("overdraft_fen")
