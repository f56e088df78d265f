"""Per-meter status for every screen: 未开户/开户/报警1/报警2/欠费/失联 plus hold and forced-off flags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from scada_core.const import STATE_UNAVAILABLE
from scada_core.meters import meter_states

from .const import LEVEL_ALARM1, LEVEL_ALARM2, LEVEL_ARREARS
from .models import MeterRow

if TYPE_CHECKING:
    from scada_core.core import CoreConfig, State
    from scada_core.storage.database import Database

    from .charging import MeterMirror
    from .port import MeterPort
    from .relay_guard import RelayGuard

LABELS = {
    "not_opened": ("未开户", "not opened"),
    "opened": ("开户", "opened"),
    LEVEL_ALARM1: ("报警1", "alarm 1"),
    LEVEL_ALARM2: ("报警2", "alarm 2"),
    LEVEL_ARREARS: ("欠费", "arrears"),
    "offline": ("失联", "offline"),
}


def meter_status(meter: MeterRow | None, state: State | None, language: str = "zh-CN") -> dict[str, Any]:
    """Return {status, label, hold, forced_off, blocked, tripped, overload} of one meter."""
    attrs = state.attributes if state is not None else {}
    if meter is None or meter.account_id is None:
        status = "not_opened"
    elif state is None or state.state == STATE_UNAVAILABLE or attrs.get("online") is False:
        status = "offline"
    elif meter.alarm_level in (LEVEL_ALARM1, LEVEL_ALARM2, LEVEL_ARREARS):
        status = meter.alarm_level
    else:
        status = "opened"
    zh, en = LABELS[status]
    return {
        "status": status,
        "label": en if language == "en" else zh,
        "hold": attrs.get("prepaid_mode") == "hold",
        "forced_off": attrs.get("prepaid_mode") == "forced_off",
        "relay": attrs.get("relay"),
        "blocked": bool(meter.blocked) if meter is not None else False,
        "blocked_reason": meter.blocked_reason if meter is not None else None,
        "tripped": bool(meter.tripped) if meter is not None else False,
        "overload": bool(meter.overload) if meter is not None else False,
        "account_id": meter.account_id if meter is not None else None,
        "mode": meter.mode if meter is not None else None,
    }


class MeterStatuses:
    """The status of each meter for screens, with its money and who holds its relay."""

    def __init__(
        self,
        db: Database,
        meters: MeterPort,
        mirror: MeterMirror,
        relay_guard: RelayGuard,
        config: CoreConfig,
    ) -> None:
        self.db = db
        self.meters = meters
        self.mirror = mirror
        self.relay_guard = relay_guard
        self.config = config  # its language is read at each call

    async def meter_status(self, entity_id: str) -> dict[str, Any]:
        """Return the status of one meter (未开户/开户/报警1/报警2/欠费/失联 and flags)."""
        async with self.db.session() as session:
            meter = await session.get(MeterRow, entity_id)
        result = meter_status(meter, self.meters.state(entity_id), self.config.language)
        result["entity_id"] = entity_id
        result["remaining_fen"] = await self.mirror.meter_balance(entity_id, meter)
        result["control"] = await self.relay_guard.holder(entity_id)
        return result

    async def meter_statuses(self) -> list[dict[str, Any]]:
        """Return the status of every meter entity and every meter billing knows."""
        async with self.db.session() as session:
            meters = {m.entity_id: m for m in (await session.execute(select(MeterRow))).scalars()}
        ids = set(meters)
        ids.update(state.entity_id for state in meter_states(self.meters.states))
        language = self.config.language
        return [
            {"entity_id": e, **meter_status(meters.get(e), self.meters.state(e), language)}
            for e in sorted(ids)
        ]
