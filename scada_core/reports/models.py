"""The daily energy rollup table (created by migration 0006_web)."""
from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from scada_core.storage.models import Base


class EnergyDailyRow(Base):
    """One meter on one local day (days since 1970-01-01): first/last counter and use since the day before; per
    TOU rate (尖峰平谷) the use and the last counter, NULL where the day's readings did not all carry the rate's
    counter (and on rows rolled up before migration 0034): that use is unsplit."""

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
    sharp_wh: Mapped[int | None] = mapped_column(BigInteger)
    peak_wh: Mapped[int | None] = mapped_column(BigInteger)
    flat_wh: Mapped[int | None] = mapped_column(BigInteger)
    valley_wh: Mapped[int | None] = mapped_column(BigInteger)
    sharp_last_wh: Mapped[int | None] = mapped_column(BigInteger)
    peak_last_wh: Mapped[int | None] = mapped_column(BigInteger)
    flat_last_wh: Mapped[int | None] = mapped_column(BigInteger)
    valley_last_wh: Mapped[int | None] = mapped_column(BigInteger)
