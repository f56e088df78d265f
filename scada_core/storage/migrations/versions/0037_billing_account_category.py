"""Billing: an account's own load category (用电性质), which its meters without one of their own take.

Revision ID: 0037_billing_account_category
Revises: 0026_billing_load_limiting
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037_billing_account_category"
down_revision = "0026_billing_load_limiting"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the account's load category (none for the accounts there are)."""
    with op.batch_alter_table("billing_accounts") as batch:
        batch.add_column(sa.Column("load_category", sa.String(32), nullable=True))


def downgrade() -> None:
    """Drop it (meters keep their own)."""
    with op.batch_alter_table("billing_accounts") as batch:
        batch.drop_column("load_category")
