"""One simulated DTSY1352: load, TOU energy, money deduction, alarms, relay logic, purchases, settings."""
from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from .cipher import CIPHER_ACREL_TEA, FrameCipher, make_cipher
from .pdu import PrepaidSettings, decode_tou_table, encode_tou_table
from .proposed import (
    FACTORY_ALARM1_FEN,
    FACTORY_ALARM2_FEN,
    FACTORY_OVERDRAFT_FEN,
    FACTORY_PMAX_W,
    FACTORY_PRICE,
    METER_TYPE_DTSY1352,
    OVERLOAD_RECOVERY_S,
    PRICE_SCALE,
    RESULT_BAD_PURCHASE_COUNT,
    RESULT_OK,
)

RATES = ("sharp", "peak", "flat", "valley")
# A typical Chinese commercial TOU day: valley at night, peaks morning and evening, sharp at the evening top.
DEFAULT_TOU = [(0, 0, "valley"), (8, 0, "flat"), (10, 0, "peak"), (12, 0, "flat"), (18, 0, "peak"),
               (19, 0, "sharp"), (21, 0, "peak"), (22, 0, "valley")]
MAX_STEP_S = 60.0
# Hourly load factor of an office (fraction of the unit's base power).
DAILY_SHAPE = (0.2, 0.2, 0.2, 0.2, 0.2, 0.25, 0.35, 0.6, 0.9, 1.0, 1.0, 1.0,
               0.85, 0.95, 1.0, 1.0, 0.95, 0.85, 0.6, 0.45, 0.35, 0.3, 0.25, 0.2)


@dataclass
class SimMeter:
    """One meter's state; ``advance`` moves it to a simulated time, ``values`` gives the profile attributes."""

    unit: int
    seed: int = 1
    base_power_w: float = 2000.0
    daily_shape: bool = True
    remaining_fen: int = 50000
    purchase_count: int = 1
    total_purchased_fen: int = 50000
    energy_wh: dict[str, float] = field(default_factory=lambda: dict.fromkeys(RATES, 0.0))
    prices: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RATES, FACTORY_PRICE))
    alarm1_fen: int = FACTORY_ALARM1_FEN
    alarm2_fen: int = FACTORY_ALARM2_FEN
    overdraft_fen: int = FACTORY_OVERDRAFT_FEN
    overload_w: int = FACTORY_PMAX_W
    recovery_time: int = OVERLOAD_RECOVERY_S
    prepaid_on: bool = True
    forced: str | None = None  # None (prepaid logic) | "trip" | "hold"
    overload_until: float = 0.0
    trip_count: int = 0
    tou_table: list[tuple[int, int, str]] = field(default_factory=lambda: list(DEFAULT_TOU))
    encrypted: bool = False
    cipher_kind: str = CIPHER_ACREL_TEA
    cipher_key: str | None = None
    meter_number: str = ""
    power_override_w: float | None = None
    silent: bool = False  # it stopped answering for good (the demo's 失联 meter); kept across restarts
    last_ts: float = 0.0
    money_acc: float = 0.0

    def __post_init__(self) -> None:
        if not self.meter_number:
            self.meter_number = f"{202600000000 + self.unit:012d}"
        self.tou_table = [tuple(p) for p in self.tou_table]  # type: ignore[misc]
        self._cipher: tuple[tuple[str, str | None], FrameCipher] | None = None
        self._was_closed = self.relay_closed(self.last_ts)
        self._load: tuple[int, float] = (-1, 0.0)
        self._voltages: tuple[int, list[float]] = (-1, [])
        self._tou_words: tuple[tuple[tuple[int, int, str], ...], list[int]] = ((), [])

    # --- physics ---
    def power_at(self, ts: float, tz: ZoneInfo) -> float:
        """Return the load in W at ``ts`` (seeded noise per minute, optional daily shape)."""
        if self.power_override_w is not None:
            return self.power_override_w
        minute = int(ts // 60)
        if self._load[0] != minute:
            rng = random.Random(self.seed * 1_000_003 + self.unit * 7919 + minute)
            shape = DAILY_SHAPE[dt.datetime.fromtimestamp(ts, tz).hour] if self.daily_shape else 1.0
            self._load = (minute, max(0.0, self.base_power_w * shape * rng.uniform(0.85, 1.15)))
        return self._load[1]

    def _voltages_at(self, ts: float) -> list[float]:
        bucket = int(ts // 10)
        if self._voltages[0] != bucket:
            rng = random.Random(self.unit * 31 + bucket)
            self._voltages = (bucket, [round(rng.uniform(218.0, 232.0), 1) for _ in range(3)])
        return self._voltages[1]

    def _tou_registers(self) -> list[int]:
        table = tuple(self.tou_table)
        if self._tou_words[0] != table:
            self._tou_words = (table, encode_tou_table(list(table)))
        return self._tou_words[1]

    def rate_at(self, ts: float, tz: ZoneInfo) -> str:
        """Return the TOU rate in force at ``ts``."""
        local = dt.datetime.fromtimestamp(ts, tz)
        minute = local.hour * 60 + local.minute
        current = self.tou_table[-1][2] if self.tou_table else "flat"
        for hour, start_minute, rate in self.tou_table:
            if hour * 60 + start_minute <= minute:
                current = rate
        return current

    def relay_closed(self, ts: float) -> bool:
        """Apply the relay logic (proposed.py §9.5): forced control first, then overload, then money."""
        if self.forced == "trip":
            return False
        if self.forced == "hold":
            return True
        if ts < self.overload_until:
            return False
        return not (self.prepaid_on and self.remaining_fen <= -self.overdraft_fen)

    def advance(self, ts: float, tz: ZoneInfo) -> None:
        """Accrue energy and deduct money from ``last_ts`` up to ``ts``."""
        if ts <= self.last_ts:
            return
        step = max(MAX_STEP_S, (ts - self.last_ts) / 2000)
        t = self.last_ts
        while t < ts:
            span = min(step, ts - t)
            power = self.power_at(t, tz)
            if self.relay_closed(t) and self.overload_w and power > self.overload_w and self.forced != "hold":
                self.overload_until = t + self.recovery_time
            if self.relay_closed(t):
                wh = power * span / 3600.0
                rate = self.rate_at(t, tz)
                self.energy_wh[rate] += wh
                if self.prepaid_on:
                    self.money_acc += wh * self.prices[rate] / (PRICE_SCALE * 10.0)
                    whole = math.floor(self.money_acc)
                    self.remaining_fen -= whole
                    self.money_acc -= whole
            t += span
            self._count_trip(t)
        self.last_ts = ts

    def _count_trip(self, ts: float) -> None:
        closed = self.relay_closed(ts)
        if self._was_closed and not closed:
            self.trip_count += 1
        self._was_closed = closed

    # --- what the registers show ---
    def values(self, ts: float, tz: ZoneInfo) -> dict[str, Any]:
        """Return the attribute values the profile encodes into registers."""
        closed = self.relay_closed(ts)
        power = self.power_at(ts, tz) if closed else 0.0
        voltages = self._voltages_at(ts)
        local = dt.datetime.fromtimestamp(ts, tz)
        per_phase = power / 3
        mode = {"trip": "forced_off", "hold": "hold"}.get(self.forced or "", "normal")
        energy = {f"{rate}_wh": round(self.energy_wh[rate], -1) for rate in RATES}
        return {
            "meter_type_code": METER_TYPE_DTSY1352,
            "voltage_a": voltages[0], "voltage_b": voltages[1], "voltage_c": voltages[2],
            "current_a": round(per_phase / voltages[0], 2), "current_b": round(per_phase / voltages[1], 2),
            "current_c": round(per_phase / voltages[2], 2),
            "power_a_w": round(per_phase), "power_b_w": round(per_phase), "power_c_w": round(per_phase),
            "power_w": round(power),
            "reactive_a_var": round(per_phase * 0.33), "reactive_b_var": round(per_phase * 0.33),
            "reactive_c_var": round(per_phase * 0.33), "reactive_var": round(power * 0.33),
            "power_factor_a": 0.95, "power_factor_b": 0.95, "power_factor_c": 0.95, "power_factor": 0.95,
            "pt_ratio": 1, "ct_ratio": 1,
            "total_wh": sum(energy.values()), **energy,
            "remaining_fen": self.remaining_fen, "purchase_count": self.purchase_count,
            "trip_count": self.trip_count, "allowed_count": 0,
            "fault": False, "relay": "closed" if closed else "open", "prepaid_mode": mode,
            "overload": ts < self.overload_until,
            "arrears": self.remaining_fen <= 0,
            "alarm1": self.remaining_fen <= self.alarm1_fen,
            "alarm2": self.remaining_fen <= self.alarm2_fen,
            "cost_control_active": self.prepaid_on,
            "clock_year": local.year - 2000, "clock_month": local.month, "clock_day": local.day,
            "clock_weekday": (local.weekday() + 1) % 7, "clock_hour": local.hour,
            "clock_minute": local.minute,
            "clock_second": local.second,
            "frequency": 50.0,
            "multi_rate": True, "encrypted": self.encrypted,
            "alarm1_fen": self.alarm1_fen, "alarm2_fen": self.alarm2_fen, "overdraft_fen": self.overdraft_fen,
            "param_purchase_count": self.purchase_count, "account_open": 1,
            "forced_enable": int(self.forced is not None), "forced_trip": int(self.forced == "trip"),
            "relay_control": int(self.forced == "trip"),
            "price_sharp": self.prices["sharp"], "price_peak": self.prices["peak"],
            "price_flat": self.prices["flat"], "price_valley": self.prices["valley"],
            "overload_w": self.overload_w,
            "comm_address": self.unit, "comm_baud_code": 3,
            "meter_number_bcd": [int(self.meter_number[i : i + 4], 16) for i in range(0, 12, 4)],
            "prepaid_on": int(self.prepaid_on), "total_purchased_fen": self.total_purchased_fen,
            "recovery_time": self.recovery_time,
            "tou_table_1": self._tou_registers(), "tou_table_2": self._tou_registers(),
        }

    # --- commands ---
    def purchase(self, amount_fen: int, new_count: int) -> int:
        """Add money if ``new_count`` is the stored count + 1; return the FC 0x20 result code."""
        if new_count != (self.purchase_count + 1) & 0xFFFF:
            return RESULT_BAD_PURCHASE_COUNT
        self.remaining_fen += amount_fen
        self.total_purchased_fen += amount_fen
        self.purchase_count = new_count
        return RESULT_OK

    def apply_settings(self, settings: PrepaidSettings) -> None:
        """Apply FC 0x20 command 0x0200 fields whose enable flag is set."""
        if settings.prepaid_on is not None:
            self.prepaid_on = settings.prepaid_on
            if settings.prepaid_on:
                self.forced = None
        if settings.remaining_fen is not None:
            self.remaining_fen = settings.remaining_fen
        if settings.purchase_count is not None:
            self.purchase_count = settings.purchase_count
        if settings.total_purchased_fen is not None:
            self.total_purchased_fen = settings.total_purchased_fen
        if settings.alarms_fen is not None:
            self.alarm1_fen, self.alarm2_fen = settings.alarms_fen
        if settings.prices is not None:
            self.prices = dict(zip(RATES, settings.prices, strict=True))
        if settings.overdraft_fen is not None:
            self.overdraft_fen = settings.overdraft_fen
        if settings.recovery_time is not None:
            self.recovery_time = settings.recovery_time
        if settings.meter_number is not None:
            self.meter_number = settings.meter_number

    def write(self, values: dict[str, Any]) -> None:
        """Apply an FC06/FC10 write, given as decoded profile attributes."""
        if "forced_enable" in values or "forced_trip" in values:
            enable = values.get("forced_enable", int(self.forced is not None))
            trip = values.get("forced_trip", int(self.forced == "trip"))
            self.forced = ("trip" if trip else "hold") if enable else None
            if self.forced is None:
                self.overload_until = 0.0
        if "relay_control" in values:  # plain meters (ADL400 profile): 1 opens the load, 0 closes it
            self.forced = "trip" if values["relay_control"] else None
        if "overload_w" in values:
            self.overload_w = int(values["overload_w"])
        if "tou_table_1" in values:
            self.tou_table = decode_tou_table(values["tou_table_1"]) or self.tou_table
        if "encrypted" in values:
            self.encrypted = bool(values["encrypted"])

    @property
    def cipher(self) -> FrameCipher:
        """Return the meter's FC 0x20 cipher (made again when its kind or key changes)."""
        spec = (self.cipher_kind, self.cipher_key)
        if self._cipher is None or self._cipher[0] != spec:
            self._cipher = (spec, make_cipher(*spec))
        return self._cipher[1]

    # --- persistence ---
    def to_state(self) -> dict[str, Any]:
        """Return what survives a restart."""
        state = asdict(self)
        state.pop("power_override_w")
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SimMeter:
        """Rebuild a meter from ``to_state``."""
        known = {k: v for k, v in state.items() if k in cls.__dataclass_fields__}
        return cls(**known)
