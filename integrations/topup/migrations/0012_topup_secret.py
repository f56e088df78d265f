"""Payments: a kept secret that signs the order reference of a top-up's return URL.

Revision ID: 0012_topup_secret
Revises: 0010_payment_provider
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_topup_secret"
down_revision = "0010_payment_provider"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the secrets table (the secret itself is made on first use)."""
    op.create_table(
        "topup_secrets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    """Drop the secrets table (return links made before stop verifying)."""
    op.drop_table("topup_secrets")
