"""Web layer: the receipt layout an admin edits (title, footer, optional fields, logo).

Revision ID: 0022_web_receipt_layout
Revises: 0006_web
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_web_receipt_layout"
down_revision = "0006_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table (no row: the built-in layout until an admin saves one)."""
    op.create_table(
        "web_receipt_layout",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(64), nullable=False),
        sa.Column("footer", sa.String(256), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_type", sa.String(32), nullable=True),
        sa.Column("updated_ts", sa.Float(), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("web_receipt_layout")
