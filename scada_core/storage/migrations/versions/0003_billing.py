"""Billing: accounts, meters, ledger (transactions + entries), deliveries, tariffs, receipts, alarms.

Revision ID: 0003_billing
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_billing"
down_revision = "0001_core"
branch_labels = ("billing",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the billing tables."""
    op.create_table(
        "billing_accounts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("building", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("phone", sa.String(64)),
        sa.Column("email", sa.String(255)),
        sa.Column("open_key", sa.String(128)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("overdraft_fen", sa.BigInteger(), nullable=False),
        sa.Column("credit_cap_fen", sa.BigInteger()),
        sa.Column("opened_ts", sa.Float(), nullable=False),
        sa.Column("closed_ts", sa.Float()),
        sa.PrimaryKeyConstraint("id", name="pk_billing_accounts"),
        sa.UniqueConstraint("open_key", name="uq_billing_accounts_open_key"),
    )
    op.create_table(
        "billing_meters",
        sa.Column("entity_id", sa.String(255), nullable=False),
        sa.Column("building", sa.String(64), nullable=False),
        sa.Column(
            "account_id",
            ID,
            sa.ForeignKey("billing_accounts.id", name="fk_billing_meters_account_id_billing_accounts"),
        ),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("purchase_count", sa.Integer(), nullable=False),
        sa.Column("last_total_wh", sa.BigInteger()),
        sa.Column("last_reading_ts", sa.Float()),
        sa.Column("tier_period", sa.String(8)),
        sa.Column("tier_wh", sa.BigInteger(), nullable=False),
        sa.Column("fee_month", sa.String(8)),
        sa.Column("alarm_level", sa.String(16), nullable=False),
        sa.Column("overload", sa.Boolean(), nullable=False),
        sa.Column("tripped", sa.Boolean(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("blocked_reason", sa.Text()),
        sa.PrimaryKeyConstraint("entity_id", name="pk_billing_meters"),
    )
    op.create_index("ix_billing_meters_account_id", "billing_meters", ["account_id"])
    op.create_table(
        "billing_transactions",
        sa.Column("id", ID, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.Column("operator_role", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer()),
        sa.Column("meter_entity_id", sa.String(255)),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(32)),
        sa.Column("reference", sa.String(128)),
        sa.Column("building", sa.String(64)),
        sa.Column("receipt_seq", sa.Integer()),
        sa.Column("receipt_no", sa.String(64)),
        sa.Column("reverses_id", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name="pk_billing_transactions"),
        sa.UniqueConstraint("idempotency_key", name="uq_billing_transactions_idempotency_key"),
        sa.UniqueConstraint("building", "receipt_seq", name="uq_billing_transactions_receipt"),
        sa.UniqueConstraint("reverses_id", name="uq_billing_transactions_reverses_id"),
    )
    op.create_index("ix_billing_transactions_ts", "billing_transactions", ["ts"])
    op.create_index("ix_billing_transactions_account_id", "billing_transactions", ["account_id"])
    op.create_index("ix_billing_transactions_meter_entity_id", "billing_transactions", ["meter_entity_id"])
    op.create_table(
        "billing_entries",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "transaction_id",
            ID,
            sa.ForeignKey(
                "billing_transactions.id", name="fk_billing_entries_transaction_id_billing_transactions"
            ),
            nullable=False,
        ),
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_billing_entries"),
    )
    op.create_index("ix_billing_entries_account", "billing_entries", ["account"])
    op.create_index("ix_billing_entries_transaction_id", "billing_entries", ["transaction_id"])
    op.create_table(
        "billing_deliveries",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "transaction_id",
            ID,
            sa.ForeignKey(
                "billing_transactions.id", name="fk_billing_deliveries_transaction_id_billing_transactions"
            ),
            nullable=False,
        ),
        sa.Column("meter_entity_id", sa.String(255), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("purchase_count", sa.Integer()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("settled_ts", sa.Float()),
        sa.Column("remaining_fen", sa.BigInteger()),
        sa.Column("error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_billing_deliveries"),
    )
    op.create_index("ix_billing_deliveries_status", "billing_deliveries", ["status", "meter_entity_id"])
    op.create_index("ix_billing_deliveries_transaction_id", "billing_deliveries", ["transaction_id"])
    op.create_table(
        "billing_tariff_versions",
        sa.Column("id", ID, primary_key=True),
        sa.Column("scope", sa.String(255), nullable=False),
        sa.Column("effective_ts", sa.Float(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.Column("pushed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_billing_tariff_versions"),
    )
    op.create_index("ix_billing_tariff_scope", "billing_tariff_versions", ["scope", "effective_ts"])
    op.create_table(
        "billing_receipt_counters",
        sa.Column("building", sa.String(64), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("building", name="pk_billing_receipt_counters"),
    )
    op.create_table(
        "billing_alarms",
        sa.Column("id", ID, primary_key=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("meter_entity_id", sa.String(255), nullable=False),
        sa.Column("account_id", sa.Integer()),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(8), nullable=False),
        sa.Column("value_fen", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_billing_alarms"),
    )
    op.create_index("ix_billing_alarms_meter_ts", "billing_alarms", ["meter_entity_id", "ts"])
    op.create_index("ix_billing_alarms_ts", "billing_alarms", ["ts"])


def downgrade() -> None:
    """Drop the billing tables."""
    for table in (
        "billing_alarms",
        "billing_receipt_counters",
        "billing_tariff_versions",
        "billing_deliveries",
        "billing_entries",
        "billing_transactions",
        "billing_meters",
        "billing_accounts",
    ):
        op.drop_table(table)
