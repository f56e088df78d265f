"""Billing: load categories (用电性质) of meters, load-limiting plans (限电方案), their runs and each run's meters.

Revision ID: 0026_billing_load_limiting
Revises: 0035_billing_meter_charges
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_billing_load_limiting"
down_revision = "0035_billing_meter_charges"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The default categories (admins add and rename them in the UI); 重要负荷 is never limited.
DEFAULT_CATEGORIES = (
    ("catering", "餐饮", 1, False),
    ("retail", "零售", 2, False),
    ("office", "办公", 3, False),
    ("public_lighting", "公共照明", 4, False),
    ("important", "重要负荷", 5, True),
)


def upgrade() -> None:
    """Create the tables, seed the default categories and give meters a category column."""
    categories = op.create_table(
        "billing_load_categories",
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_billing_load_categories"),
    )
    op.bulk_insert(
        categories,
        [{"key": k, "name": n, "position": p, "protected": x} for k, n, p, x in DEFAULT_CATEGORIES],
    )
    with op.batch_alter_table("billing_meters") as batch:
        batch.add_column(sa.Column("load_category", sa.String(32), nullable=True))
    op.create_table(
        "billing_load_plans",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("limit_w", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_billing_load_plans"),
    )
    op.create_table(
        "billing_load_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("plan_id", ID, sa.ForeignKey("billing_load_plans.id", name="fk_billing_load_runs_plan_id_billing_load_plans"), nullable=False),
        sa.Column("plan_name", sa.String(128), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("limit_w", sa.Integer(), nullable=True),
        sa.Column("start_ts", sa.Float(), nullable=False),
        sa.Column("end_ts", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("started_ts", sa.Float(), nullable=True),
        sa.Column("ended_ts", sa.Float(), nullable=True),
        sa.Column("buildings", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_billing_load_runs"),
        sa.UniqueConstraint("idempotency_key", name="uq_billing_load_runs_idempotency_key"),
    )
    op.create_index("ix_billing_load_runs_plan_id", "billing_load_runs", ["plan_id"])
    op.create_index("ix_billing_load_runs_status", "billing_load_runs", ["status", "start_ts"])
    op.create_table(
        "billing_load_run_meters",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, sa.ForeignKey("billing_load_runs.id", name="fk_billing_load_run_meters_run_id_billing_load_runs"), nullable=False),
        sa.Column("meter_entity_id", sa.String(255), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("previous_w", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("limited_ts", sa.Float(), nullable=True),
        sa.Column("restored_w", sa.Integer(), nullable=True),
        sa.Column("restored_ts", sa.Float(), nullable=True),
        sa.Column("restore", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_billing_load_run_meters"),
        sa.UniqueConstraint("run_id", "meter_entity_id", name="uq_billing_load_run_meters"),
    )
    op.create_index("ix_billing_load_run_meters_run_id", "billing_load_run_meters", ["run_id"])
    op.create_index("ix_billing_load_run_meters_meter_entity_id", "billing_load_run_meters", ["meter_entity_id"])


def downgrade() -> None:
    """Drop the tables and the column."""
    op.drop_table("billing_load_run_meters")
    op.drop_table("billing_load_runs")
    op.drop_table("billing_load_plans")
    with op.batch_alter_table("billing_meters") as batch:
        batch.drop_column("load_category")
    op.drop_table("billing_load_categories")
