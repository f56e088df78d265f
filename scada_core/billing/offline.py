"""Offline alarms (失联): an opened meter that stops answering enters one, and leaves it when it answers again.

A meter enters after it has been unavailable (state ``unavailable`` or attribute ``online`` false, which the
modbus layer sets after N failed tries) for ``offline_after`` seconds without a break, so a meter that misses
a poll now and then raises nothing, and one that flaps raises at most one alarm per ``offline_after``. Only a
meter that has answered since start-up can enter: a restart raises no storm for meters not yet read (the
offline report still lists them). The alarm is stored like the other levels (a billing_alarms crossing and a
billing_alarm event); a meter still in it after a restart leaves it when it answers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from scada_core.automation.const import EVENT_TIME_CHANGED
from scada_core.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE

from .alarms import crossing
from .const import LEVEL_OFFLINE, PHASE_ENTER, PHASE_LEAVE
from .models import AlarmRow, MeterRow

if TYPE_CHECKING:
    from scada_core.core import Event, State

    from .books import Books
    from .opened import OpenedMeters

_LOGGER = logging.getLogger(__name__)


def is_offline(state: State | None) -> bool:
    """Tell whether a meter's state says it does not answer."""
    return state is not None and (state.state == STATE_UNAVAILABLE or state.attributes.get("online") is False)


class OfflineWatch:
    """Turn meters that stop answering into offline alarms."""

    def __init__(self, books: Books, opened: OpenedMeters, offline_after: float) -> None:
        self.books = books
        self.db = books.db
        self.opened = opened
        self.offline_after = offline_after
        self.offline: set[str] = set()  # meters in an offline alarm
        self._answered: set[str] = set()  # meters that answered since start-up
        self._down_since: dict[str, float] = {}  # meters counting down to an offline alarm

    async def async_start(self) -> None:
        """Load the meters still in an offline alarm and start watching states and time_changed."""
        newest = (
            select(func.max(AlarmRow.id)).where(AlarmRow.level == LEVEL_OFFLINE).group_by(AlarmRow.meter_entity_id)
        )
        async with self.db.session() as session:
            rows = await session.execute(
                select(AlarmRow.meter_entity_id).where(AlarmRow.id.in_(newest), AlarmRow.phase == PHASE_ENTER)
            )
            self.offline.update(rows.scalars())
        self.books.bus.async_listen(EVENT_STATE_CHANGED, self._offline_state_changed)
        self.books.bus.async_listen(EVENT_TIME_CHANGED, self._offline_tick)

    def _offline_state_changed(self, event: Event) -> None:
        entity_id = event.data["entity_id"]
        if self.opened.opened_mode(entity_id) is None:
            return
        state = event.data["new_state"]
        if state is None:
            return
        if not is_offline(state):
            self._answered.add(entity_id)
            self._down_since.pop(entity_id, None)
            if entity_id in self.offline:
                self.offline.discard(entity_id)
                self.books.spawn(self._offline_crossing(entity_id, PHASE_LEAVE), "billing online")
        elif entity_id in self._answered and entity_id not in self.offline:
            self._down_since.setdefault(entity_id, self.books.now())

    def _offline_tick(self, _event: Event) -> None:
        now = self.books.now()
        for entity_id, since in list(self._down_since.items()):
            if now - since >= self.offline_after:
                del self._down_since[entity_id]
                self.offline.add(entity_id)
                self.books.spawn(self._offline_crossing(entity_id, PHASE_ENTER), "billing offline")

    async def _offline_crossing(self, entity_id: str, phase: str) -> None:
        """Store one offline crossing of an opened meter and fire its billing_alarm."""
        async with self.db.write() as session:
            meter = await session.get(MeterRow, entity_id)
            if meter is None or meter.account_id is None:
                self.offline.discard(entity_id)  # closed meanwhile: nothing to alarm about
                return
            row, event = crossing(meter, LEVEL_OFFLINE, phase, None, self.books.now())
            session.add(row)
        _LOGGER.warning("Meter %s: offline alarm %s", entity_id, phase)
        self.books.fire_alarms([event])

