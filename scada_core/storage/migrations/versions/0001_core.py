"""Core tables: recorded states and meter readings.

Revision ID: 0001_core
Revises:
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_core"
down_revision = None
branch_labels = ("core",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create states and readings."""
    op.create_table(
        "states",
        sa.Column("id", ID, primary_key=True),
        sa.Column("entity_id", sa.String(255), nullable=False),
        sa.Column("state", sa.String(255), nullable=False),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("last_changed_ts", sa.Float(), nullable=False),
        sa.Column("last_updated_ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_states"),
    )
    op.create_index("ix_states_entity_ts", "states", ["entity_id", "last_updated_ts"])
    op.create_index("ix_states_last_updated_ts", "states", ["last_updated_ts"])
    op.create_table(
        "readings",
        sa.Column("id", ID, primary_key=True),
        sa.Column("entity_id", sa.String(255), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("received_ts", sa.Float(), nullable=False),
        sa.Column("total_wh", sa.BigInteger(), nullable=False),
        sa.Column("sharp_wh", sa.BigInteger()),
        sa.Column("peak_wh", sa.BigInteger()),
        sa.Column("flat_wh", sa.BigInteger()),
        sa.Column("valley_wh", sa.BigInteger()),
        sa.Column("money_fen", sa.BigInteger()),
        sa.Column("purchase_count", sa.Integer()),
        sa.Column("power_w", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name="pk_readings"),
    )
    op.create_index("ix_readings_entity_ts", "readings", ["entity_id", "ts"])
    op.create_index("ix_readings_ts", "readings", ["ts"])


def downgrade() -> None:
    """Drop states and readings."""
    op.drop_table("readings")
    op.drop_table("states")
