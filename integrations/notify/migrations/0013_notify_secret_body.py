"""Notify: the full text of a message holding a secret (a one-time code) is kept apart until it is sent.

Revision ID: 0013_notify_secret_body
Revises: 0004_notify
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_notify_secret_body"
down_revision = "0004_notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add notify_outbox.secret_body."""
    op.add_column("notify_outbox", sa.Column("secret_body", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop notify_outbox.secret_body."""
    op.drop_column("notify_outbox", "secret_body")
