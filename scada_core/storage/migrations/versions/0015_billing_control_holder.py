"""Billing: the record of who holds each meter's relay (staff forced trip/hold, prepaid control, none).

Revision ID: 0015_billing_control_holder
Revises: 0014_billing_desired_state
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_billing_control_holder"
down_revision = "0014_billing_desired_state"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the control change record (a meter's holder is its newest row)."""
    op.create_table(
        "billing_control_changes",
        sa.Column("id", ID, primary_key=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("meter_entity_id", sa.String(255), nullable=False),
        sa.Column("holder", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(64)),
        sa.Column("service", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_billing_control_changes"),
    )
    op.create_index("ix_billing_control_changes_meter_id", "billing_control_changes", ["meter_entity_id", "id"])


def downgrade() -> None:
    """Drop the control change record."""
    op.drop_table("billing_control_changes")
