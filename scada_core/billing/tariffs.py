"""Tariffs: flat, time-of-use (尖峰平谷, daily periods and seasons) and tiered (阶梯) prices; pure functions.

Prices are yuan per kWh as decimal strings (up to 4 decimals); a charge is rounded half-up to whole fen
once per charged reading delta.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import voluptuous as vol

RATES = ("sharp", "peak", "flat", "valley")
KIND_FLAT = "flat"
KIND_TOU = "tou"
KIND_TIERED = "tiered"
HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?")


def _price(value: Any) -> str:
    """Validate a price in yuan/kWh and return its canonical string."""
    try:
        price = Decimal(str(value))
    except ArithmeticError:
        raise vol.Invalid(f"price {value!r} is not a number") from None
    if not price.is_finite() or price < 0 or price.as_tuple().exponent < -4:  # type: ignore[operator]
        raise vol.Invalid(f"price {value!r} must be >= 0 with at most 4 decimals")
    return str(price)


def _hhmm(value: Any) -> str:
    """Validate HH:MM (00:00 to 23:59)."""
    if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads an unquoted 08:00 as 480
        raise vol.Invalid(f"time {value!r} is not HH:MM (quote it: \"08:00\")")
    if not isinstance(value, str) or not HHMM.fullmatch(value):
        raise vol.Invalid(f"time {value!r} is not HH:MM (00:00 to 23:59)")
    return value[:5]


PERIODS = vol.All([{vol.Required("start"): _hhmm, vol.Required("rate"): vol.In(RATES)}], vol.Length(min=1))

MONTHLY_FEE = vol.All(int, vol.Range(min=0))

KIND_SCHEMAS: dict[str, vol.Schema] = {
    KIND_FLAT: vol.Schema(
        {
            vol.Required("kind"): KIND_FLAT,
            vol.Required("price"): _price,
            vol.Optional("monthly_fee_fen", default=0): MONTHLY_FEE,
        }
    ),
    KIND_TOU: vol.Schema(
        {
            vol.Required("kind"): KIND_TOU,
            vol.Required("prices"): {vol.Required(rate): _price for rate in RATES},
            vol.Required("periods"): PERIODS,
            vol.Optional("seasons", default=[]): [
                {
                    vol.Required("months"): vol.All(
                        [vol.All(int, vol.Range(min=1, max=12))], vol.Length(min=1)
                    ),
                    vol.Required("periods"): PERIODS,
                }
            ],
            vol.Optional("monthly_fee_fen", default=0): MONTHLY_FEE,
        }
    ),
    KIND_TIERED: vol.Schema(
        {
            vol.Required("kind"): KIND_TIERED,
            vol.Optional("period", default="month"): vol.In(("month", "year")),
            vol.Required("bands"): vol.All(
                [
                    {
                        vol.Optional("up_to_kwh"): vol.All(vol.Coerce(int), vol.Range(min=1)),
                        vol.Required("price"): _price,
                    }
                ],
                vol.Length(min=1),
            ),
            vol.Optional("monthly_fee_fen", default=0): MONTHLY_FEE,
        }
    ),
}


def _tariff(value: Any) -> dict[str, Any]:
    """Validate a tariff by its kind, so that a mistake names the key it is at."""
    if not isinstance(value, dict):
        raise vol.Invalid(f"expected a tariff (a mapping with kind: {', '.join(KIND_SCHEMAS)})")
    kind = value.get("kind")
    if not isinstance(kind, str) or kind not in KIND_SCHEMAS:
        raise vol.Invalid(f"kind must be one of {', '.join(KIND_SCHEMAS)}, got {kind!r}", path=["kind"])
    return dict(KIND_SCHEMAS[kind](value))


TARIFF_SCHEMA = vol.Schema(_tariff)


@dataclass(frozen=True, slots=True)
class Charge:
    """The money for one energy delta and how it splits over rates or bands (Wh per part)."""

    fen: int
    parts: dict[str, int] = field(default_factory=dict)


def to_fen(yuan: Decimal) -> int:
    """Round a yuan amount half-up to whole fen."""
    return int((yuan * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _yuan(wh: int, price: str) -> Decimal:
    return Decimal(wh) / 1000 * Decimal(price)


def rate_at(spec: dict[str, Any], local: datetime) -> str:
    """Return the TOU rate (sharp/peak/flat/valley) in force at local time ``local``."""
    periods, _ = periods_of(spec, local.month)
    ordered = sorted(periods, key=lambda p: p["start"])
    now = local.strftime("%H:%M")
    rate = ordered[-1][
        "rate"
    ]  # before the first start of the day, the last period of the previous day runs on
    for period in ordered:
        if period["start"] <= now:
            rate = period["rate"]
    return rate


def price_now(spec: dict[str, Any], local: datetime) -> str | None:
    """Return the yuan/kWh in force at local time ``local`` (None for a tiered tariff: it depends on the use)."""
    if spec["kind"] == KIND_FLAT:
        return str(spec["price"])
    if spec["kind"] == KIND_TOU:
        return str(spec["prices"][rate_at(spec, local)])
    return None


def period_key(spec: dict[str, Any], local: datetime) -> str:
    """Return the tier period (YYYY-MM or YYYY) that ``local`` falls in."""
    return local.strftime("%Y") if spec.get("period") == "year" else local.strftime("%Y-%m")


def charge(spec: dict[str, Any], wh: int, local: datetime, used_wh: int = 0) -> Charge:
    """Price ``wh`` consumed at ``local``; ``used_wh`` is the tier period's use before it."""
    if wh <= 0:
        return Charge(0)
    if spec["kind"] == KIND_FLAT:
        return Charge(to_fen(_yuan(wh, spec["price"])), {"flat": wh})
    if spec["kind"] == KIND_TOU:
        rate = rate_at(spec, local)
        return Charge(to_fen(_yuan(wh, spec["prices"][rate])), {rate: wh})
    total = Decimal(0)
    parts: dict[str, int] = {}
    start, end = used_wh, used_wh + wh
    lower = 0
    bands = spec["bands"]
    for index, band in enumerate(bands):
        last = index == len(bands) - 1
        upper = end if last else max(band["up_to_kwh"] * 1000, lower)
        take = min(end, upper) - max(start, lower)
        if take > 0:
            total += _yuan(take, band["price"])
            parts[f"band{index + 1}"] = take
        lower = upper
    return Charge(to_fen(total), parts)


def periods_of(spec: dict[str, Any], month: int | None) -> tuple[list[dict[str, str]], int | None]:
    """Return the TOU periods in force in ``month`` (None: the base periods) and the index of their season."""
    for index, season in enumerate(spec.get("seasons", ())):
        if month in season["months"]:
            return season["periods"], index
    return spec["periods"], None


def payload_months(spec: dict[str, Any]) -> list[int | None]:
    """Return one month per distinct TOU table of ``spec`` (None: the base periods), to check each payload."""
    return [None, *(season["months"][0] for season in spec.get("seasons", ()))]


def push_payload(spec: dict[str, Any], month: int | None = None) -> dict[str, Any]:
    """Return the data of a meter-side meter's push_tariff for ``spec`` in local ``month`` (None: base periods).

    A flat tariff is the same price at all four rates; a TOU tariff sends its prices and the TOU periods of the
    month's season. A tiered tariff has no meter-side form (the meter cannot switch bands): TieredOnMeterError.
    """
    if spec["kind"] == KIND_FLAT:
        return {"prices": dict.fromkeys(RATES, spec["price"])}
    if spec["kind"] == KIND_TOU:
        periods, _ = periods_of(spec, month)
        return {"prices": dict(spec["prices"]), "tou": [dict(p) for p in periods]}
    raise TieredOnMeterError("阶梯电价不能下发到表计 / a tiered tariff cannot be pushed to a meter (no band register)")


class TieredOnMeterError(ValueError):
    """A tiered tariff for a meter that holds the money itself."""


def tiered_refusal(entity_id: str) -> tuple[str, str]:
    """Return the zh-CN and English refusal of a tiered tariff for a meter-side meter."""
    return (
        f"表计 {entity_id} 在表内扣费，不能自动切换阶梯电价档位：请改用单一或分时电价，或用服务器计费的表计",
        f"meter {entity_id} deducts money itself and cannot switch tiered (阶梯) bands: use a flat or TOU "
        "tariff, or a server-billed meter",
    )


def spec_path(spec: dict[str, Any], payload_path: list[Any], month: int | None = None) -> list[Any]:
    """Return the key path in ``spec`` that the push_payload(spec, month) item at ``payload_path`` comes from."""
    head, *rest = payload_path or [None]
    if head == "tou":
        _, season = periods_of(spec, month)
        return ["periods", *rest] if season is None else ["seasons", season, "periods", *rest]
    if head == "prices" and spec["kind"] == KIND_FLAT:
        return ["price"]
    return list(payload_path)
