"""Web layer: named roles (their permissions) and the buildings each operator is kept to.

Revision ID: 0036_web_roles
Revises: 0022_web_receipt_layout
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036_web_roles"
down_revision = "0022_web_receipt_layout"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the roles table; operators get a buildings column (NULL: every building)."""
    op.create_table(
        "web_roles",
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("permissions", sa.Text(), nullable=False),
        sa.Column("updated_ts", sa.Float(), nullable=False),
    )
    with op.batch_alter_table("web_operators") as batch:
        batch.add_column(sa.Column("buildings", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop the column and the table."""
    with op.batch_alter_table("web_operators") as batch:
        batch.drop_column("buildings")
    op.drop_table("web_roles")
