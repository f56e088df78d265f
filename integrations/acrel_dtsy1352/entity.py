"""The DTSY1352 prepaid meter entity: profile-driven reads plus prepaid commands confirmed by read-back."""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from integrations.modbus.errors import CommandRejectedError, ExceptionCodeError, MeterCommandError
from integrations.modbus.profile_meter import ProfileMeter

from .const import (
    ATTR_ALARM1_FEN,
    ATTR_ALARM2_FEN,
    ATTR_OVERDRAFT_FEN,
    ATTR_OVERLOAD_W,
    ATTR_PRICE,
    ATTR_PRICES,
    ATTR_PURCHASE_COUNT,
    ATTR_REMAINING_FEN,
    ATTR_TOU,
    DOMAIN,
    METER_TYPE,
    MODE_FORCED_OFF,
    MODE_HOLD,
    MODE_NORMAL,
    RATES,
    RELAY_CLOSED,
    RELAY_OPEN,
    SERVICE_CLOSE,
    SERVICE_FORCE_CLOSE,
    SERVICE_HOLD,
    SERVICE_PUSH_SETTINGS,
    SERVICE_PUSH_TARIFF,
    SERVICE_READ_PREPAID,
    SERVICE_REFUND,
    SERVICE_RELEASE,
    SERVICE_RESTORE_PREPAID,
    SERVICE_SELL,
    SERVICE_TRIP,
)
from .pdu import (
    PrepaidSettings,
    control_values,
    decode_tou_table,
    encode_tou_table,
    purchase_request,
    settings_request,
)
from .proposed import CONTROL_REGISTER, PRICE_SCALE, RESULT_BAD_PURCHASE_COUNT

if TYPE_CHECKING:
    from pymodbus.pdu import ModbusPDU

    from integrations.modbus.bus import Bus
    from integrations.modbus.profile import DeviceProfile

_LOGGER = logging.getLogger(__name__)

TOU_TABLE_1 = "tou_table_1"
SETTINGS_SCAN = "settings"
PRICE_STEP = Decimal(1) / PRICE_SCALE
# Settings the entity shows and the commands read back; only the settings blocks holding them are read (at the
# first answer and with every energy scan, so what the meter holds is published in step with the meter).
SETTING_NAMES = (
    TOU_TABLE_1,
    "price_sharp",
    "price_peak",
    "price_flat",
    "price_valley",
    ATTR_ALARM1_FEN,
    ATTR_ALARM2_FEN,
    ATTR_OVERDRAFT_FEN,
    ATTR_OVERLOAD_W,
)
# relay control service -> (0x0057 action, prepaid_mode and relay the read-back must show);
# a relay of None: the balance decides it, the result reports it.
CONTROL_SERVICES: dict[str, tuple[str, str, str | None]] = {
    SERVICE_TRIP: ("trip", MODE_FORCED_OFF, RELAY_OPEN),
    SERVICE_FORCE_CLOSE: ("hold", MODE_HOLD, RELAY_CLOSED),
    SERVICE_HOLD: ("hold", MODE_HOLD, RELAY_CLOSED),
    SERVICE_RELEASE: ("release", MODE_NORMAL, None),
    SERVICE_CLOSE: ("release", MODE_NORMAL, RELAY_CLOSED),
    SERVICE_RESTORE_PREPAID: ("release", MODE_NORMAL, None),
}


class Dtsy1352Meter(ProfileMeter):
    """A DTSY1352: state is the remaining money in yuan; services sell, refund, trip, hold, tariffs..."""

    domain = DOMAIN
    billing = "meter"
    # The attributes of CONTRACTS.md plus the settings staff see; every other decoded value stays internal.
    published_values = (
        "remaining_fen",
        "purchase_count",
        "total_wh",
        "sharp_wh",
        "peak_wh",
        "flat_wh",
        "valley_wh",
        "voltage_a",
        "voltage_b",
        "voltage_c",
        "current_a",
        "current_b",
        "current_c",
        "power_w",
        "reactive_var",
        "power_factor",
        "frequency",
        "relay",
        "prepaid_mode",
        "alarm1",
        "alarm2",
        "arrears",
        "overload",
        "fault",
        "trip_count",
        "alarm1_fen",
        "alarm2_fen",
        "overdraft_fen",
        "overload_w",
        "price_sharp",
        "price_peak",
        "price_flat",
        "price_valley",
    )

    def __init__(self, bus: Bus, conf: dict[str, Any], profile: DeviceProfile) -> None:
        super().__init__(bus, conf, profile)
        self.meter_type = METER_TYPE
        wanted = [profile.register(name) for name in SETTING_NAMES]
        self.settings_blocks = [
            block
            for block in profile.plan(SETTINGS_SCAN)
            if any(block.start <= reg.address and reg.end <= block.end for reg in wanted)
        ]
        self.settings_due = True
        self._tou_held: tuple[tuple[int, ...], list[dict[str, str]]] = ((), [])

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Add remaining energy (remaining money at the flat price), and the tariff the meter holds in the shape
        push_tariff takes (``prices`` in yuan/kWh, ``tou``: TOU day table 1), to the decoded values."""
        attributes = super().extra_state_attributes
        remaining, price = self.values.get(ATTR_REMAINING_FEN), self.values.get("price_flat")
        attributes["remaining_kwh"] = (
            round(remaining / 100 / (price / PRICE_SCALE), 2) if remaining is not None and price else None
        )
        raw = [self.values.get(f"price_{rate}") for rate in RATES]
        attributes[ATTR_PRICES] = (
            None
            if None in raw
            else {rate: str(Decimal(value) * PRICE_STEP) for rate, value in zip(RATES, raw, strict=True)}
        )
        attributes[ATTR_TOU] = self._held_tou()
        return attributes

    def _held_tou(self) -> list[dict[str, str]] | None:
        """Return TOU day table 1 as push_tariff's periods (decoded once per change of its registers)."""
        words = self.values.get(TOU_TABLE_1)
        if words is None:
            return None
        key = tuple(words)
        if self._tou_held[0] != key:
            periods = [{"start": f"{h:02d}:{m:02d}", "rate": rate} for h, m, rate in decode_tou_table(words)]
            self._tou_held = (key, periods)
        return self._tou_held[1]

    async def async_poll(self, energy: bool, retries: int | None = None) -> None:
        """Read the status block; the settings too once the meter has answered (all come online first), and
        again with every energy scan."""
        if (self.settings_due or energy) and self.last_read is not None:
            try:
                self.values.update(await self.async_read_blocks(self.settings_blocks, retries))
            except ExceptionCodeError as err:
                _LOGGER.warning("%s: settings not readable (%s); shown without them", self.entity_id, err)
            self.settings_due = False
        await super().async_poll(energy, retries)

    async def _fresh_status(self) -> dict[str, Any]:
        """Read the status block now and publish it."""
        self.apply(await self.async_read_blocks(self.status_blocks))
        return self.values

    async def _fresh_settings(self) -> dict[str, Any]:
        self.values.update(await self.async_read_blocks(self.settings_blocks))
        return self.values

    async def _fc20(self, request: ModbusPDU) -> Any:
        response = await self.bus.link.execute(request, retries=0)
        if not response.ok:
            if response.result == RESULT_BAD_PURCHASE_COUNT:
                raise CommandRejectedError(
                    f"{self.entity_id}: 购电次数不符，表内为 {response.purchase_count} / "
                    f"purchase count mismatch, meter has {response.purchase_count}"
                )
            raise CommandRejectedError(
                f"{self.entity_id}: 表计拒绝命令 / meter refused the command: {response.result_text}"
            )
        return response

    # --- services (each becomes a persisted command) ---

    async def async_sell(self, amount_fen: int, purchase_count: int) -> dict[str, Any]:
        """Service sell: add money with the new purchase count (the meter's last + 1)."""
        return await self.async_submit(
            SERVICE_SELL, {"amount_fen": amount_fen, "purchase_count": purchase_count}
        )

    async def async_refund(self, amount_fen: int, purchase_count: int) -> dict[str, Any]:
        """Service refund: lower the remaining money by ``amount_fen`` with the new purchase count."""
        return await self.async_submit(
            SERVICE_REFUND, {"amount_fen": amount_fen, "purchase_count": purchase_count}
        )

    async def async_read_prepaid(self) -> dict[str, Any]:
        """Service read_prepaid: a fresh read of remaining money and purchase count."""
        return await self.async_submit(SERVICE_READ_PREPAID, {})

    async def async_trip(self) -> dict[str, Any]:
        """Service trip: forced off."""
        return await self.async_submit(SERVICE_TRIP, {})

    async def async_release(self) -> dict[str, Any]:
        """Service release: end forced control, back to prepaid logic (the balance decides the relay)."""
        return await self.async_submit(SERVICE_RELEASE, {})

    async def async_close(self) -> dict[str, Any]:
        """Service close: release forced control; fails if the relay stays open (arrears, overload)."""
        return await self.async_submit(SERVICE_CLOSE, {})

    async def async_force_close(self) -> dict[str, Any]:
        """Service force_close: keep the supply on whatever the balance (保电)."""
        return await self.async_submit(SERVICE_FORCE_CLOSE, {})

    async def async_hold(self) -> dict[str, Any]:
        """Service hold: force_close by its 保电 name."""
        return await self.async_submit(SERVICE_HOLD, {})

    async def async_restore_prepaid(self) -> dict[str, Any]:
        """Service restore_prepaid: end forced control and switch prepaid control on."""
        return await self.async_submit(SERVICE_RESTORE_PREPAID, {})

    async def async_push_tariff(self, **data: Any) -> dict[str, Any]:
        """Service push_tariff: one price or four TOU prices, optionally the TOU periods."""
        if ATTR_PRICE not in data and ATTR_PRICES not in data:
            raise MeterCommandError(f"{self.entity_id}: 需要电价 / push_tariff needs price or prices")
        prices = data.get(ATTR_PRICES) or {rate: data[ATTR_PRICE] for rate in RATES}
        payload: dict[str, Any] = {ATTR_PRICES: prices}
        if ATTR_TOU in data:
            payload[ATTR_TOU] = data[ATTR_TOU]
        return await self.async_submit(SERVICE_PUSH_TARIFF, payload)

    async def async_push_settings(self, **data: Any) -> dict[str, Any]:
        """Service push_settings: alarm thresholds, overdraft, overload power."""
        if not data:
            raise MeterCommandError(
                f"{self.entity_id}: 没有要下发的设置 / push_settings needs at least one setting"
            )
        return await self.async_submit(SERVICE_PUSH_SETTINGS, dict(data))

    # --- command execution on the bus ---

    async def async_run_command(
        self, kind: str, payload: dict[str, Any], verify_first: bool
    ) -> dict[str, Any]:
        """Carry out ``kind``; ``verify_first``: an earlier attempt may have landed, read before resending."""
        if kind in (SERVICE_SELL, SERVICE_REFUND):
            return await self._run_purchase(kind, payload, verify_first)
        if kind == SERVICE_READ_PREPAID:
            values = await self._fresh_status()
            return {
                ATTR_PURCHASE_COUNT: values[ATTR_PURCHASE_COUNT],
                ATTR_REMAINING_FEN: values[ATTR_REMAINING_FEN],
                "online": True,
            }
        if kind in CONTROL_SERVICES:
            return await self._run_control(kind)
        if kind == SERVICE_PUSH_TARIFF:
            return await self._run_tariff(payload)
        if kind == SERVICE_PUSH_SETTINGS:
            return await self._run_settings(payload)
        return await super().async_run_command(kind, payload, verify_first)

    async def _run_purchase(self, kind: str, payload: dict[str, Any], verify_first: bool) -> dict[str, Any]:
        count, amount = payload[ATTR_PURCHASE_COUNT], payload["amount_fen"]
        before: dict[str, Any] | None = None
        if verify_first or kind == SERVICE_REFUND:
            before = dict(await self._fresh_status())
            if verify_first and before[ATTR_PURCHASE_COUNT] == count:
                _LOGGER.info("%s: %s with purchase count %d had already landed", self.entity_id, kind, count)
                return self._purchase_result(before)
            if (before[ATTR_PURCHASE_COUNT] + 1) & 0xFFFF != count:  # 16-bit register: 0 follows 65535
                raise CommandRejectedError(
                    f"{self.entity_id}: 购电次数不符（表内 {before[ATTR_PURCHASE_COUNT]}，本次 {count}） / "
                    f"purchase count mismatch: meter has {before[ATTR_PURCHASE_COUNT]}, "
                    f"{kind} carries {count} (must be last + 1)"
                )
        if kind == SERVICE_SELL:
            await self._fc20(purchase_request(self.address, amount, count))
        else:
            assert before is not None
            remaining = before[ATTR_REMAINING_FEN] - amount
            if remaining < 0:
                raise CommandRejectedError(
                    f"{self.entity_id}: 退费金额超过表内剩余金额 / "
                    f"refund of {amount} fen exceeds the remaining {before[ATTR_REMAINING_FEN]} fen"
                )
            await self._fc20(
                settings_request(self.address, PrepaidSettings(remaining_fen=remaining, purchase_count=count))
            )
        after = await self._fresh_status()
        if after[ATTR_PURCHASE_COUNT] != count:
            raise CommandRejectedError(
                f"{self.entity_id}: 回读购电次数不符 / "
                f"read-back shows purchase count {after[ATTR_PURCHASE_COUNT]}, expected {count}"
            )
        return self._purchase_result(after)

    @staticmethod
    def _purchase_result(values: dict[str, Any]) -> dict[str, Any]:
        return {
            ATTR_PURCHASE_COUNT: values[ATTR_PURCHASE_COUNT],
            ATTR_REMAINING_FEN: values[ATTR_REMAINING_FEN],
        }

    async def _run_control(self, kind: str) -> dict[str, Any]:
        action, mode, relay = CONTROL_SERVICES[kind]
        await self.bus.link.write_registers(self.address, CONTROL_REGISTER, control_values(action))
        if kind == SERVICE_RESTORE_PREPAID:
            await self._fc20(settings_request(self.address, PrepaidSettings(prepaid_on=True)))
        values = await self._fresh_status()
        if values.get("prepaid_mode") != mode:
            raise CommandRejectedError(
                f"{self.entity_id}: 回读状态不符 / after {kind} the meter reports prepaid mode "
                f"{values.get('prepaid_mode')!r}"
            )
        if kind == SERVICE_RESTORE_PREPAID and not values.get("cost_control_active"):
            raise CommandRejectedError(
                f"{self.entity_id}: 预付费控制未开启 / after {kind} the meter reports prepaid control off"
            )
        if relay is not None and values.get("relay") != relay:
            raise CommandRejectedError(self._relay_text(kind, values))
        return {"relay": values.get("relay"), "prepaid_mode": values.get("prepaid_mode")}

    def _relay_text(self, kind: str, values: dict[str, Any]) -> str:
        """Explain a relay that does not show what ``kind`` promised."""
        if values.get("relay") == RELAY_CLOSED:
            return f"{self.entity_id}: 回读继电器仍闭合 / after {kind} the meter reports the relay closed"
        remaining = values.get(ATTR_REMAINING_FEN)
        if values.get("arrears"):
            zh, en = f"欠费（剩余 {remaining} 分）", f"in arrears, {remaining} fen remaining"
        elif values.get("overload"):
            zh, en = "过载", "overload"
        else:
            zh, en = "预付费控制", "prepaid control"
        return (
            f"{self.entity_id}: 已解除强制控制，但继电器仍断开：{zh}；请先售电或强制合闸 / "
            f"released to prepaid control, but the relay stayed open: {en}; sell first, or use force_close"
        )

    async def _run_tariff(self, payload: dict[str, Any]) -> dict[str, Any]:
        prices = payload[ATTR_PRICES]
        raw = tuple(round(float(prices[rate]) * PRICE_SCALE) for rate in RATES)
        await self._fc20(settings_request(self.address, PrepaidSettings(prices=raw)))  # type: ignore[arg-type]
        periods: list[tuple[int, int, str]] = []
        table = self.profile.register(TOU_TABLE_1)
        if ATTR_TOU in payload:
            periods = [(int(p["start"][:2]), int(p["start"][3:]), p["rate"]) for p in payload[ATTR_TOU]]
            await self.bus.link.write_registers(self.address, table.address, encode_tou_table(periods))
        values = await self._fresh_settings()
        if tuple(values.get(f"price_{rate}") for rate in RATES) != raw:
            raise CommandRejectedError(f"{self.entity_id}: read-back prices differ from the pushed tariff")
        result: dict[str, Any] = {ATTR_PRICES: dict(prices)}
        if periods:
            if decode_tou_table(values[TOU_TABLE_1]) != sorted(periods):
                raise CommandRejectedError(
                    f"{self.entity_id}: read-back TOU table differs from the pushed one"
                )
            result[ATTR_TOU] = payload[ATTR_TOU]
        self.async_write_state()
        return result

    async def _run_settings(self, payload: dict[str, Any]) -> dict[str, Any]:
        current = await self._fresh_settings()
        settings = PrepaidSettings()
        if ATTR_ALARM1_FEN in payload or ATTR_ALARM2_FEN in payload:
            settings.alarms_fen = (
                payload.get(ATTR_ALARM1_FEN, current.get(ATTR_ALARM1_FEN)) or 0,
                payload.get(ATTR_ALARM2_FEN, current.get(ATTR_ALARM2_FEN)) or 0,
            )
        if ATTR_OVERDRAFT_FEN in payload:
            settings.overdraft_fen = payload[ATTR_OVERDRAFT_FEN]
        if settings.given():
            await self._fc20(settings_request(self.address, settings))
        if ATTR_OVERLOAD_W in payload:
            register = self.profile.register(ATTR_OVERLOAD_W)
            await self.bus.link.write_registers(
                self.address, register.address, register.encode(payload[ATTR_OVERLOAD_W])
            )
        values = await self._fresh_settings()
        differ = [key for key, value in payload.items() if values.get(key) != value]
        if differ:
            raise CommandRejectedError(f"{self.entity_id}: read-back differs for {', '.join(differ)}")
        await self._fresh_status()  # the alarm flags and the relay follow the new settings: publish them now
        return dict(payload)
