"""Core tables: recorded states and meter readings. Other parts add their own on ``Base``."""
from __future__ import annotations

from sqlalchemy import BigInteger, Float, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every table of the project."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class StateRow(Base):
    """One recorded state change of an entity."""

    __tablename__ = "states"
    __table_args__ = (Index("ix_states_entity_ts", "entity_id", "last_updated_ts"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(255))
    attributes: Mapped[str] = mapped_column(Text)
    last_changed_ts: Mapped[float] = mapped_column(Float)
    last_updated_ts: Mapped[float] = mapped_column(Float, index=True)


class ReadingRow(Base):
    """One energy reading of a meter, stamped with the meter's own time.

    Energies are integer Wh, money integer fen (both exact).
    """

    __tablename__ = "readings"
    __table_args__ = (Index("ix_readings_entity_ts", "entity_id", "ts"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(255))
    ts: Mapped[float] = mapped_column(Float, index=True)
    received_ts: Mapped[float] = mapped_column(Float)
    total_wh: Mapped[int] = mapped_column(BigInteger)
    sharp_wh: Mapped[int | None] = mapped_column(BigInteger)
    peak_wh: Mapped[int | None] = mapped_column(BigInteger)
    flat_wh: Mapped[int | None] = mapped_column(BigInteger)
    valley_wh: Mapped[int | None] = mapped_column(BigInteger)
    money_fen: Mapped[int | None] = mapped_column(BigInteger)
    purchase_count: Mapped[int | None] = mapped_column(Integer)
    power_w: Mapped[int | None] = mapped_column(Integer)


READING_FIELDS = (
    "total_wh",
    "sharp_wh",
    "peak_wh",
    "flat_wh",
    "valley_wh",
    "money_fen",
    "purchase_count",
    "power_w",
)
