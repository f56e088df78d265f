"""Alarm records for the alarm reports: raised by automations, cleared when the cause goes away."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from ..storage.models import Base

if TYPE_CHECKING:
    from ..storage.database import Database


class AlarmRow(Base):
    """One alarm: when it was raised, about what, how bad, and when it was cleared."""

    __tablename__ = "alarms"
    __table_args__ = (Index("ix_alarms_entity_kind", "entity_id", "kind"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    entity_id: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    cleared_ts: Mapped[float | None] = mapped_column(Float)


def _as_ts(value: datetime | float | None) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else value


def _same_entity(entity_id: str | None) -> ColumnElement[bool]:
    return AlarmRow.entity_id.is_(None) if entity_id is None else AlarmRow.entity_id == entity_id


def _as_dict(row: AlarmRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "time": row.ts,
        "entity_id": row.entity_id,
        "kind": row.kind,
        "level": row.level,
        "message": row.message,
        "cleared_at": row.cleared_ts,
        "active": row.cleared_ts is None,
    }


async def async_raise_alarm(
    db: Database, ts: float, entity_id: str | None, kind: str, level: str, message: str
) -> tuple[dict[str, Any], bool]:
    """Record an alarm unless the same one (entity, kind) is still active; return (alarm, created)."""
    async with db.write() as session:
        active = await session.scalar(
            select(AlarmRow).where(
                _same_entity(entity_id), AlarmRow.kind == kind, AlarmRow.cleared_ts.is_(None)
            )
        )
        if active is not None:
            return _as_dict(active), False
        row = AlarmRow(ts=ts, entity_id=entity_id, kind=kind, level=level, message=message)
        session.add(row)
        await session.flush()
        return _as_dict(row), True


async def async_clear_alarm(db: Database, ts: float, entity_id: str | None, kind: str | None) -> int:
    """Clear the active alarms of ``entity_id`` (of one ``kind``, or all); return how many."""
    query = update(AlarmRow).where(AlarmRow.cleared_ts.is_(None)).values(cleared_ts=ts)
    query = query.where(_same_entity(entity_id))
    if kind is not None:
        query = query.where(AlarmRow.kind == kind)
    async with db.session() as session:
        result = await session.execute(query)
        return int(result.rowcount or 0)


async def list_alarms(
    db: Database,
    since: datetime | float | None = None,
    until: datetime | float | None = None,
    active_only: bool = False,
) -> list[dict[str, Any]]:
    """Return alarms raised in [since, until) (POSIX s or aware datetimes), oldest first.

    Each is {id, time, entity_id, kind, level, message, cleared_at, active}; times are POSIX seconds.
    """
    query = select(AlarmRow).order_by(AlarmRow.ts, AlarmRow.id)
    if (start := _as_ts(since)) is not None:
        query = query.where(AlarmRow.ts >= start)
    if (end := _as_ts(until)) is not None:
        query = query.where(AlarmRow.ts < end)
    if active_only:
        query = query.where(AlarmRow.cleared_ts.is_(None))
    async with db.session() as session:
        return [_as_dict(row) for row in (await session.scalars(query)).all()]
