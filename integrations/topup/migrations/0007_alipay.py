"""Alipay and tenant self-service: orders, security events, tenant credentials, one-time codes, sessions.

Revision ID: 0007_alipay
Revises: 0001_core
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_alipay"
down_revision = "0001_core"
branch_labels = ("alipay",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "alipay_orders",
        sa.Column("id", ID, primary_key=True),
        sa.Column("out_trade_no", sa.String(64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("trade_no", sa.String(64)),
        sa.Column("qr_code", sa.Text()),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("expire_ts", sa.Float(), nullable=False),
        sa.Column("paid_ts", sa.Float()),
        sa.Column("closed_ts", sa.Float()),
        sa.Column("refunded_ts", sa.Float()),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("credited", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("transaction_id", sa.Integer()),
        sa.Column("receipt_no", sa.String(64)),
        sa.Column("last_query_ts", sa.Float()),
        sa.PrimaryKeyConstraint("id", name="pk_alipay_orders"),
        sa.UniqueConstraint("out_trade_no", name="uq_alipay_orders_out_trade_no"),
    )
    op.create_index("ix_alipay_orders_account_id", "alipay_orders", ["account_id"])
    op.create_index("ix_alipay_orders_state", "alipay_orders", ["state"])
    op.create_table(
        "security_events",
        sa.Column("id", ID, primary_key=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("remote", sa.String(64)),
        sa.Column("reference", sa.String(64)),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_security_events"),
    )
    op.create_index("ix_security_events_ts", "security_events", ["ts"])
    op.create_table(
        "tenant_credentials",
        sa.Column("account_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("phone", sa.String(32)),
        sa.Column("tenant_control", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_tenant_credentials"),
    )
    op.create_index("ix_tenant_credentials_phone", "tenant_credentials", ["phone"])
    op.create_table(
        "tenant_codes",
        sa.Column("id", ID, primary_key=True),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(128), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("expires_ts", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("used", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_tenant_codes"),
    )
    op.create_index("ix_tenant_codes_phone", "tenant_codes", ["phone"])
    op.create_table(
        "tenant_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("expires_ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_tenant_sessions"),
    )
    op.create_index("ix_tenant_sessions_account_id", "tenant_sessions", ["account_id"])


def downgrade() -> None:
    """Drop the tables."""
    for table in ("tenant_sessions", "tenant_codes", "tenant_credentials", "security_events", "alipay_orders"):
        op.drop_table(table)
