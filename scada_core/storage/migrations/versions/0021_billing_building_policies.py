"""Billing: a building's alarm levels, overdraft, credit cap and overload limit as versions with an effective time.

Revision ID: 0021_billing_building_policies
Revises: 0017_billing_alarm_reason
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_billing_building_policies"
down_revision = "0017_billing_alarm_reason"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table (the first start seeds it from YAML)."""
    op.create_table(
        "billing_building_policies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("building", sa.String(64), nullable=False),
        sa.Column("effective_ts", sa.Float(), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_billing_building_policies"),
    )
    op.create_index("ix_billing_building_policies", "billing_building_policies", ["building", "effective_ts"])


def downgrade() -> None:
    """Drop the table."""
    op.drop_index("ix_billing_building_policies", "billing_building_policies")
    op.drop_table("billing_building_policies")
