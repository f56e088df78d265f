"""Payments: the orders table is every provider's, so ``alipay_orders`` becomes ``topup_orders`` (rows kept).

Revision ID: 0019_topup_orders
Revises: 0018_order_meter
"""

from __future__ import annotations

from alembic import op

revision = "0019_topup_orders"
down_revision = "0018_order_meter"
branch_labels = None
depends_on = None

INDEXED = ("account_id", "state", "provider")
CONSTRAINTS = ("pk_{}", "uq_{}_out_trade_no")


def _rename(old: str, new: str) -> None:
    """Rename the table and the names its indexes and constraints carry (the rows move with it)."""
    op.rename_table(old, new)
    if op.get_bind().dialect.name == "postgresql":
        for column in INDEXED:
            op.execute(f'ALTER INDEX "ix_{old}_{column}" RENAME TO "ix_{new}_{column}"')
        for name in CONSTRAINTS:
            op.execute(f'ALTER TABLE "{new}" RENAME CONSTRAINT "{name.format(old)}" TO "{name.format(new)}"')
        op.execute(f'ALTER SEQUENCE IF EXISTS "{old}_id_seq" RENAME TO "{new}_id_seq"')
        return
    for column in INDEXED:  # SQLite cannot rename an index: make it again under the new name
        op.drop_index(f"ix_{old}_{column}", new)
        op.create_index(f"ix_{new}_{column}", new, [column])


def upgrade() -> None:
    """``alipay_orders`` → ``topup_orders``."""
    _rename("alipay_orders", "topup_orders")


def downgrade() -> None:
    """``topup_orders`` → ``alipay_orders``."""
    _rename("topup_orders", "alipay_orders")
