"""Web layer: the daily energy rollup keeps the TOU split (尖峰平谷): each rate's use and last counter of the day.

Rows rolled up before this revision keep NULL in the new columns: the energy report shows their use as unsplit.

Revision ID: 0034_energy_daily_tou
Revises: 0036_web_roles
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034_energy_daily_tou"
down_revision = "0036_web_roles"
branch_labels = None
depends_on = None

RATES = ("sharp", "peak", "flat", "valley")
COLUMNS = [f"{rate}_wh" for rate in RATES] + [f"{rate}_last_wh" for rate in RATES]


def upgrade() -> None:
    """Add the nullable per-rate columns (NULL: the day's split is not known)."""
    with op.batch_alter_table("energy_daily") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("energy_daily") as batch:
        for name in COLUMNS:
            batch.drop_column(name)
