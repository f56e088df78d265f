"""Field layer: who started each batch (the batch history shows it; batches saved before show no one).

Revision ID: 0020_field_batch_operator
Revises: 0002_field
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_field_batch_operator"
down_revision = "0002_field"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add field_batches.operator and an index for the newest-first history."""
    op.add_column("field_batches", sa.Column("operator", sa.String(64), nullable=True))
    op.create_index("ix_field_batches_created_ts", "field_batches", ["created_ts"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_field_batches_created_ts", table_name="field_batches")
    op.drop_column("field_batches", "operator")
