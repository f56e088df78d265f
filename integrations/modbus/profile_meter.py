"""A meter described by a register profile alone: read planned blocks, decode, write state and readings."""
from __future__ import annotations

import logging
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from scada_core.const import EVENT_METER_READING
from scada_core.meters import ATTR_BILLING, MODE_SERVER

from .const import UNSUPPORTED_RETRY_S
from .device import BusDevice
from .errors import CommandRejectedError, ExceptionCodeError, FieldError, MeterCommandError

if TYPE_CHECKING:
    from .bus import Bus

    from .profile import Block, DeviceProfile

_LOGGER = logging.getLogger(__name__)

# Decoded value that carries the meter's own clock (naive local datetime from the profile's clock parts).
METER_CLOCK = "meter_clock"
# meter_reading field -> decoded value name.
READING_KEYS = {
    "total_wh": "total_wh",
    "sharp_wh": "sharp_wh",
    "peak_wh": "peak_wh",
    "flat_wh": "flat_wh",
    "valley_wh": "valley_wh",
    "money_fen": "remaining_fen",
    "purchase_count": "purchase_count",
    "power_w": "power_w",
}
# relay service -> the relay state its read-back must show (when the profile decodes one)
RELAY_PROMISE = {"trip": "open", "close": "closed"}


class ProfileMeter(BusDevice):
    """A meter described by a YAML profile: state is total energy in kWh, attributes come from the profile's
    decoder. Each meter integration sets its ``domain`` and how it is ``billing`` (scada_core.meters)."""

    domain: str
    billing: str = MODE_SERVER
    # When set, only these decoded values become attributes (keeps states small for 10,000 meters).
    published_values: tuple[str, ...] | None = None

    def __init__(self, bus: Bus, conf: dict[str, Any], profile: DeviceProfile) -> None:
        super().__init__(
            bus, conf["name"], conf["address"], conf.get("status_interval"), conf.get("energy_interval")
        )
        self.entity_id = f"{self.domain}.{conf['name']}"
        self._attr_unique_id = f"{bus.name}:{conf['address']}"
        self.profile = profile
        self.meter_type = profile.name
        self.status_blocks = profile.plan("status")
        # Energy reads add only what the status blocks do not already cover.
        self.energy_blocks = [b for b in profile.plan("energy") if b not in self.status_blocks]
        # Decoded values not published as attributes: the meter clock and its parts (they stamp readings).
        self.hidden = {METER_CLOCK, *(profile.clock or {}).values()}
        # Optional blocks the meter refused -> core time at which they are asked again.
        self.unsupported: dict[Block, float] = {}
        if self.published_values is not None:
            # Every published value has a slot from the start (None until read), so one itemgetter takes them.
            self.values = dict.fromkeys(self.published_values)
            self._published = itemgetter(*self.published_values)

    def base_attributes(self) -> dict[str, Any]:
        """Add how the meter is billed: its capability is published from the start, read or not."""
        return {**super().base_attributes(), ATTR_BILLING: self.billing}

    @property
    def state(self) -> str | None:
        """Return the profile's state value (total kWh for plain meters)."""
        return self.profile.state_value(self.values)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return every decoded value."""
        values = self.values
        if self.published_values is not None:
            attributes = dict(zip(self.published_values, self._published(values)))
        else:
            attributes = {k: v for k, v in values.items() if k not in self.hidden}
        if self.unsupported:
            attributes["unsupported"] = sorted(
                name for block in self.unsupported for name in self.profile.value_names(block)
            )
        return attributes

    async def async_read_blocks(self, blocks: list[Block], retries: int | None = None) -> dict[str, Any]:
        """Read ``blocks`` and return the decoded values (no state written)."""
        values: dict[str, Any] = {}
        for block in blocks:
            if block.optional:
                values.update(await self._read_optional(block, retries))
                continue
            words = await self.bus.link.read_holding(self.address, block.start, block.count, retries)
            values.update(self.profile.decode(block.start, words))
        return values

    async def _read_optional(self, block: Block, retries: int | None) -> dict[str, Any]:
        """Read an optional block; one the meter refuses is unsupported (None) and asked again only hourly."""
        assert self.core is not None
        now = self.core.clock.timestamp()
        if self.unsupported.get(block, now) > now:
            return {}
        try:
            words = await self.bus.link.read_holding(self.address, block.start, block.count, retries)
        except ExceptionCodeError as err:
            if not err.unsupported:
                raise
            names = self.profile.value_names(block)
            if block not in self.unsupported:
                _LOGGER.info(
                    "%s has no %s (%s); asked again every %d s",
                    self.entity_id, ", ".join(names), err, UNSUPPORTED_RETRY_S,
                )
            self.unsupported[block] = now + UNSUPPORTED_RETRY_S
            return dict.fromkeys(names)
        self.unsupported.pop(block, None)
        return self.profile.decode(block.start, words)

    async def async_poll(self, energy: bool, retries: int | None = None) -> None:
        """Read the status scan (and the energy scan when due), write the state, fire a reading."""
        values = await self.async_read_blocks(self.status_blocks, retries)
        if energy:
            try:
                values.update(await self.async_read_blocks(self.energy_blocks, retries))
            except FieldError:
                self.apply(values)  # the status just read is good: publish it; the energy scan is retried
                raise
        self.apply(values, energy)

    def apply(self, values: dict[str, Any], energy: bool = False) -> None:
        """Take freshly read values: update attributes, write the state, fire meter_reading if ``energy``."""
        assert self.core is not None
        now = self.core.clock.timestamp()
        self.values.update(values)
        self.record_success(now)
        self.async_write_state()
        if energy and self.values.get("total_wh") is not None:
            self.core.bus.async_fire(EVENT_METER_READING, self.reading(now))

    def reading(self, now: float) -> dict[str, Any]:
        """Return the meter_reading event data, stamped with the meter's own clock when it has one."""
        assert self.core is not None
        clock = self.values.get(METER_CLOCK)
        ts = clock.replace(tzinfo=self.core.clock.time_zone).timestamp() if clock is not None else now
        data: dict[str, Any] = {"entity_id": self.entity_id, "ts": ts}
        for key, source in READING_KEYS.items():
            data[key] = self.values.get(source)
        return data

    async def async_trip(self) -> dict[str, Any]:
        """Open the relay (service trip)."""
        return await self._relay_service("trip")

    async def async_close(self) -> dict[str, Any]:
        """Close the relay (service close)."""
        return await self._relay_service("close")

    async def _relay_service(self, kind: str) -> dict[str, Any]:
        if not self.profile.relay:
            raise MeterCommandError(f"{self.entity_id}: profile {self.profile.name} has no relay register")
        return await self.async_submit(kind, {})

    async def async_run_command(
        self, kind: str, payload: dict[str, Any], verify_first: bool
    ) -> dict[str, Any]:
        """Write the profile's relay words, read them back, then confirm the relay state from the status."""
        relay = self.profile.relay
        if kind not in RELAY_PROMISE or not relay:
            return await super().async_run_command(kind, payload, verify_first)
        words = list(relay[kind])
        link = self.bus.link
        if not verify_first or await link.read_holding(self.address, relay["address"], len(words)) != words:
            await link.write_registers(self.address, relay["address"], words)
            if await link.read_holding(self.address, relay["address"], len(words)) != words:
                raise CommandRejectedError(
                    f"{self.entity_id}: relay register does not hold the written {kind} value"
                )
        self.apply(await self.async_read_blocks(self.status_blocks))
        relay_state = self.values.get("relay")
        if relay_state is not None and relay_state != RELAY_PROMISE[kind]:
            raise CommandRejectedError(
                f"{self.entity_id}: 回读继电器状态不符 / after {kind} the meter reports the relay {relay_state}"
            )
        return {"relay": relay_state, "prepaid_mode": self.values.get("prepaid_mode")}
