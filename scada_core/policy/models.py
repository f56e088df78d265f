"""Friendly-credit actions that survive a restart: trips waiting for their window, holds we put on."""
from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from ..storage.models import Base

KIND_TRIP = "trip"
KIND_HOLD = "hold"


class FriendlyCreditActionRow(Base):
    """A deferred trip (server-side meter) or a hold (meter-side meter) still owed to a meter."""

    __tablename__ = "friendly_credit_actions"

    entity_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    since_ts: Mapped[float] = mapped_column(Float)
