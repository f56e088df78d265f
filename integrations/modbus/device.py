"""Base of every meter that lives on a bus: failure counting, 失联 (offline), scan timing, commands."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scada_core.const import ATTR_FRIENDLY_NAME
from scada_core.entity import Entity

from .errors import FieldError, MeterCommandError

if TYPE_CHECKING:
    from .bus import Bus

_LOGGER = logging.getLogger(__name__)


class BusDevice(Entity):
    """A meter polled by its bus; subclasses read and decode in ``async_poll``."""

    meter_type: str = "modbus"

    def __init__(
        self,
        bus: Bus,
        name: str,
        address: int,
        status_interval: float | None = None,
        energy_interval: float | None = None,
    ) -> None:
        super().__init__()
        self.bus = bus
        self.address = address
        self._attr_name = name
        self.status_interval = status_interval or bus.status_interval
        self.energy_interval = energy_interval or bus.energy_interval
        self.failures = 0
        self.failed_offline = False
        self.skipped_sweeps = 0
        self.next_status = 0.0
        self.next_energy = 0.0
        self.last_read: float | None = None
        self.last_error: str | None = None
        self.values: dict[str, Any] = {}

    @property
    def online(self) -> bool:
        """Tell whether the meter answers and its line is up."""
        return self.bus.link.connected and not self.failed_offline and self.last_read is not None

    @property
    def available(self) -> bool:
        """Offline (失联) meters and meters behind a dead line are unavailable."""
        return self.bus.link.connected and not self.failed_offline

    def base_attributes(self) -> dict[str, Any]:
        """Return the attributes every bus device carries."""
        return {
            "online": self.online,
            "last_read": self.last_read,
            "gateway": self.bus.gateway.name,
            "bus": self.bus.name,
            "address": self.address,
            "meter_type": self.meter_type,
        }

    def state_attributes(self) -> dict[str, Any]:
        """Return the values (the last ones read while unavailable), name and the bus attributes."""
        attributes = (
            dict(self.extra_state_attributes or {}) if self.available or self.last_read is not None else {}
        )
        attributes[ATTR_FRIENDLY_NAME] = self.name
        attributes.update(self.base_attributes())
        return attributes

    def in_slow_lane(self, sweeps_between: int) -> bool:
        """Tell whether an offline meter sits this sweep out (tried once every ``sweeps_between``)."""
        if not self.failed_offline:
            return False
        self.skipped_sweeps += 1
        if self.skipped_sweeps >= sweeps_between:
            self.skipped_sweeps = 0
            return False
        return True

    def record_success(self, now: float) -> None:
        """Count a good read; bring the meter back online."""
        if self.failed_offline:
            _LOGGER.info("Meter %s is back online", self.entity_id)
        self.failures = 0
        self.failed_offline = False
        self.last_read = now
        self.last_error = None

    def record_failure(self, err: FieldError, offline_after: int) -> None:
        """Count a failed read; after ``offline_after`` in a row the meter is offline (失联)."""
        self.failures += 1
        self.last_error = str(err)
        if not self.failed_offline and self.failures >= offline_after:
            self.failed_offline = True
            self.skipped_sweeps = 0
            _LOGGER.warning("Meter %s is offline after %d failures: %s", self.entity_id, self.failures, err)
        self.async_write_state()

    async def async_poll(self, energy: bool, retries: int | None = None) -> None:
        """Read the meter (the energy scan class too when ``energy``) and write the state."""
        raise NotImplementedError

    async def async_run_command(
        self, kind: str, payload: dict[str, Any], verify_first: bool
    ) -> dict[str, Any]:
        """Carry out one command and confirm it by reading back; return its result."""
        raise MeterCommandError(f"{self.entity_id} has no command {kind!r}")

    async def async_submit(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue a command on this meter's bus (the reliable path) and wait for its outcome."""
        return await self.bus.submit(self, kind, payload)
