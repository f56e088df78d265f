"""Field layer: persisted remote commands on meters (queued -> sent -> confirmed | failed | expired).

Revision ID: 0002_field
Revises: 0001_core
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_field"
down_revision = "0001_core"
branch_labels = ("field",)
depends_on = None


def upgrade() -> None:
    """Create field_commands and field_batches."""
    op.create_table(
        "field_commands",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("batch_id", sa.String(32)),
        sa.Column("entity_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("deadline_ts", sa.Float(), nullable=False),
        sa.Column("result", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("updated_ts", sa.Float(), nullable=False),
        sa.Column("sent_ts", sa.Float()),
        sa.Column("done_ts", sa.Float()),
        sa.PrimaryKeyConstraint("id", name="pk_field_commands"),
    )
    op.create_index("ix_field_commands_state", "field_commands", ["state"])
    op.create_index("ix_field_commands_batch_id", "field_commands", ["batch_id"])
    op.create_index("ix_field_commands_entity_id", "field_commands", ["entity_id"])
    op.create_table(
        "field_batches",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_field_batches"),
    )


def downgrade() -> None:
    """Drop field_batches and field_commands."""
    op.drop_table("field_batches")
    op.drop_table("field_commands")
