"""The daily energy rollup table (created by migration 0006_web)."""
from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from scada_core.storage.models import Base


class EnergyDailyRow(Base):
    """One meter on one local day (days since 1970-01-01): first/last counter and use since the day before."""

    __tablename__ = "energy_daily"
    __table_args__ = (
        Index("ix_energy_daily_meter_use", "entity_id", "day", "use_wh"),
        Index("ix_energy_daily_day_meter_use", "day", "entity_id", "use_wh"),
    )

    entity_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_wh: Mapped[int] = mapped_column(BigInteger)
    last_wh: Mapped[int] = mapped_column(BigInteger)
    use_wh: Mapped[int] = mapped_column(BigInteger)
    readings: Mapped[int] = mapped_column(Integer)
