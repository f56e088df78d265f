"""Field layer: gateways and meters created by import or the UI (YAML-declared ones stay in YAML).

Revision ID: 0030_modbus_wiring
Revises: 0020_field_batch_operator
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030_modbus_wiring"
down_revision = "0020_field_batch_operator"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create modbus_wiring_gateways and modbus_wiring_meters."""
    op.create_table(
        "modbus_wiring_gateways",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("label", sa.String(128)),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255)),
        sa.Column("port", sa.String(255), nullable=False),
        sa.Column("baudrate", sa.Integer(), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
    )
    op.create_table(
        "modbus_wiring_meters",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("bus", sa.String(64), nullable=False),
        sa.Column("address", sa.Integer(), nullable=False),
        sa.Column("building", sa.String(64)),
        sa.Column("category", sa.String(64)),
        sa.Column("tariff", sa.String(64)),
        sa.Column("created_ts", sa.Float(), nullable=False),
    )
    op.create_index("ux_modbus_wiring_meters_bus_address", "modbus_wiring_meters", ["bus", "address"], unique=True)


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ux_modbus_wiring_meters_bus_address", table_name="modbus_wiring_meters")
    op.drop_table("modbus_wiring_meters")
    op.drop_table("modbus_wiring_gateways")
