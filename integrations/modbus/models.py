"""The command table of the field layer (migration 0002_field) and the wiring created by import (0030)."""
from __future__ import annotations

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scada_core.storage.models import Base


class FieldCommandRow(Base):
    """One remote command on one meter, with its state and outcome."""

    __tablename__ = "field_commands"
    __table_args__ = (
        Index("ix_field_commands_state", "state"),
        Index("ix_field_commands_batch_id", "batch_id"),
        Index("ix_field_commands_entity_id", "entity_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    batch_id: Mapped[str | None] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    deadline_ts: Mapped[float] = mapped_column(Float)
    result: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_ts: Mapped[float] = mapped_column(Float)
    updated_ts: Mapped[float] = mapped_column(Float)
    sent_ts: Mapped[float | None] = mapped_column(Float)
    done_ts: Mapped[float | None] = mapped_column(Float)


class FieldBatchRow(Base):
    """One service run on many meters; its counts come from its commands."""

    __tablename__ = "field_batches"
    __table_args__ = (Index("ix_field_batches_created_ts", "created_ts"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    service: Mapped[str] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer)
    created_ts: Mapped[float] = mapped_column(Float)
    operator: Mapped[str | None] = mapped_column(String(64))  # who started it (the context's user)


class WiringGatewayRow(Base):
    """A gateway created by import or the UI (YAML-declared gateways are not stored; migration 0030)."""

    __tablename__ = "modbus_wiring_gateways"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str | None] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(16))
    host: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[str] = mapped_column(String(255))  # a TCP port number, or a serial device path
    baudrate: Mapped[int] = mapped_column(Integer)
    created_ts: Mapped[float] = mapped_column(Float)


class WiringMeterRow(Base):
    """A meter created by import or the UI, with what its row said of its place, category and tariff."""

    __tablename__ = "modbus_wiring_meters"
    __table_args__ = (Index("ux_modbus_wiring_meters_bus_address", "bus", "address", unique=True),)

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(64))
    bus: Mapped[str] = mapped_column(String(64))
    address: Mapped[int] = mapped_column(Integer)
    building: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    tariff: Mapped[str | None] = mapped_column(String(64))
    created_ts: Mapped[float] = mapped_column(Float)
