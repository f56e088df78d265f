"""The alarms in force now (实时报警): each opened meter's low-balance level, overload, tamper block and offline
alarm, with the time it began (its latest enter crossing) and its reason (a tamper's, an overload's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from .const import LEVEL_NORMAL, LEVEL_OFFLINE, LEVEL_OVERLOAD, LEVEL_TAMPER, PHASE_ENTER
from .models import AlarmRow, MeterRow

if TYPE_CHECKING:
    from scada_core.storage.database import Database

    from .offline import OfflineWatch
    from .port import MeterPort


def levels_in_force(meter: MeterRow, offline: set[str]) -> list[str]:
    """Return the alarm levels a meter is in now."""
    levels = [meter.alarm_level] if meter.alarm_level != LEVEL_NORMAL else []
    if meter.overload:
        levels.append(LEVEL_OVERLOAD)
    if meter.blocked:
        levels.append(LEVEL_TAMPER)
    if meter.entity_id in offline:
        levels.append(LEVEL_OFFLINE)
    return levels


class ActiveAlarms:
    """List the alarms in force."""

    def __init__(self, db: Database, meters: MeterPort, offline: OfflineWatch) -> None:
        self.db = db
        self.meters = meters
        self.offline = offline

    async def active_alarms(self) -> list[dict[str, Any]]:
        """Return [{meter_entity_id, account_id, level, since, reason, remaining_fen, power_w}] by meter."""
        async with self.db.session() as session:
            meters = (
                await session.execute(
                    select(MeterRow).where(MeterRow.account_id.is_not(None)).order_by(MeterRow.entity_id)
                )
            ).scalars().all()
            offline = self.offline.offline
            alarmed = {m.entity_id: levels for m in meters if (levels := levels_in_force(m, offline))}
            entered: dict[tuple[str, str], AlarmRow] = {}
            if alarmed:
                latest = (
                    select(func.max(AlarmRow.id))
                    .where(AlarmRow.phase == PHASE_ENTER, AlarmRow.meter_entity_id.in_(alarmed))
                    .group_by(AlarmRow.meter_entity_id, AlarmRow.level)
                )
                rows = await session.execute(select(AlarmRow).where(AlarmRow.id.in_(latest)))
                entered = {(row.meter_entity_id, row.level): row for row in rows.scalars()}
        alarms = []
        for meter in meters:
            state = self.meters.state(meter.entity_id)
            attrs = state.attributes if state is not None else {}
            for level in alarmed.get(meter.entity_id, ()):
                enter = entered.get((meter.entity_id, level))
                alarms.append({
                    "meter_entity_id": meter.entity_id,
                    "account_id": meter.account_id,
                    "level": level,
                    "since": enter.ts if enter is not None else None,
                    "reason": meter.blocked_reason if level == LEVEL_TAMPER else enter.reason if enter else None,
                    "remaining_fen": attrs.get("remaining_fen"),
                    "power_w": attrs.get("power_w"),
                })
        return alarms
