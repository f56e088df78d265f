"""Web layer: operators, sessions, API tokens, audit log, meter directory overlay, daily energy rollups.

Revision ID: 0006_web
Revises: 0001_core
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_web"
down_revision = "0001_core"
branch_labels = ("web",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "web_operators",
        sa.Column("id", ID, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("operator_id", sa.Integer(), nullable=False, index=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("expires_ts", sa.Float(), nullable=False),
    )
    op.create_table(
        "web_api_tokens",
        sa.Column("id", ID, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("revoked_ts", sa.Float()),
        sa.Column("last_used_ts", sa.Float()),
    )
    op.create_table(
        "web_audit",
        sa.Column("id", ID, primary_key=True),
        sa.Column("ts", sa.Float(), nullable=False, index=True),
        sa.Column("operator", sa.String(64), nullable=False, index=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False, index=True),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("remote", sa.String(64), nullable=False),
        sa.Column("before", sa.Text()),
        sa.Column("after", sa.Text()),
        sa.Column("ok", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "web_meter_directory",
        sa.Column("entity_id", sa.String(255), primary_key=True),
        sa.Column("floor", sa.String(32)),
        sa.Column("room", sa.String(64)),
        sa.Column("label", sa.String(128)),
    )
    op.create_table(
        "energy_daily",
        sa.Column("entity_id", sa.String(255), primary_key=True),
        sa.Column("day", sa.Integer(), primary_key=True),
        sa.Column("first_wh", sa.BigInteger(), nullable=False),
        sa.Column("last_wh", sa.BigInteger(), nullable=False),
        sa.Column("use_wh", sa.BigInteger(), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
    )
    # Covering indexes: the per-meter and per-day sums read only the index.
    op.create_index("ix_energy_daily_meter_use", "energy_daily", ["entity_id", "day", "use_wh"])
    op.create_index("ix_energy_daily_day_meter_use", "energy_daily", ["day", "entity_id", "use_wh"])


def downgrade() -> None:
    """Drop the tables."""
    for table in ("energy_daily", "web_meter_directory", "web_audit", "web_api_tokens", "web_sessions", "web_operators"):
        op.drop_table(table)
