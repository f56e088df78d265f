"""The price form: a tariff from what an admin filled in (single, TOU with a 24-hour strip, tiered) and back, and a
building's alarm levels and limits in yuan and watts."""
from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from scada_core.billing.tariffs import KIND_FLAT, KIND_TIERED, KIND_TOU, RATES

HOURS = 24
TIER_BANDS = 3  # bands the form offers; the last one without a limit takes the rest
MAX_YUAN = Decimal(10**8)
MAX_WATTS = 10**7
EFFECTIVE_GRACE_S = 300  # an effective time this far back still counts as now (the form was filled in a while ago)


class FormError(ValueError):
    """A field the admin filled in wrongly: ``key`` is the message to show."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def hours_of(periods: list[dict[str, str]]) -> list[str]:
    """Return the rate of each hour 0..23 of a TOU day table."""
    by_hour = []
    for hour in range(HOURS):
        started = [p for p in periods if int(p["start"][:2]) <= hour]
        by_hour.append((started[-1] if started else periods[-1])["rate"])
    return by_hour


def periods_of(hours: list[str]) -> list[dict[str, str]]:
    """Return the TOU day table of 24 hourly rates (a period starts where the rate changes)."""
    return [{"start": f"{hour:02d}:00", "rate": rate} for hour, rate in enumerate(hours)
            if hour == 0 or hours[hour - 1] != rate]


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _price(form: Any, name: str) -> str:
    """Return a price in yuan/kWh as the tariff stores it."""
    try:
        price = Decimal(_field(form, name))
    except InvalidOperation:
        raise FormError("err_price") from None
    if not price.is_finite() or price < 0 or price > 1000 or price != price.quantize(Decimal("0.0001")):
        raise FormError("err_price")
    return str(price)


def tariff_from_form(form: Any, current: dict[str, Any] | None) -> dict[str, Any]:
    """Return the tariff the form describes; a TOU one keeps the current tariff's seasons."""
    kind = _field(form, "kind")
    if kind == KIND_FLAT:
        return {"kind": KIND_FLAT, "price": _price(form, "price")}
    if kind == KIND_TOU:
        hours = [_field(form, f"h{hour}") for hour in range(HOURS)]
        if any(rate not in RATES for rate in hours):
            raise FormError("err_hours")
        spec: dict[str, Any] = {"kind": KIND_TOU, "prices": {rate: _price(form, f"price_{rate}") for rate in RATES},
                                "periods": periods_of(hours)}
        if current and current.get("kind") == KIND_TOU and current.get("seasons"):
            spec["seasons"] = current["seasons"]
        return spec
    if kind == KIND_TIERED:
        bands: list[dict[str, Any]] = []
        for band in range(TIER_BANDS):
            if not _field(form, f"band{band}_price"):
                continue
            limit = _field(form, f"band{band}_kwh")
            entry: dict[str, Any] = {"price": _price(form, f"band{band}_price")}
            if limit:
                if not limit.isdigit() or not 0 < int(limit) < 10**9:
                    raise FormError("err_band")
                entry["up_to_kwh"] = int(limit)
            bands.append(entry)
        if not bands or "up_to_kwh" in bands[-1] or any("up_to_kwh" not in b for b in bands[:-1]):
            raise FormError("err_band")
        limits = [b["up_to_kwh"] for b in bands[:-1]]
        if limits != sorted(set(limits)):
            raise FormError("err_band")
        period = _field(form, "period") or "month"
        if period not in ("month", "year"):
            raise FormError("err_band")
        return {"kind": KIND_TIERED, "period": period, "bands": bands}
    raise FormError("err_kind")


def fen_from_form(form: Any, name: str, required: bool = True) -> int | None:
    """Return an amount in yuan as fen (0 allowed); None for an empty optional field."""
    text = _field(form, name)
    if not text:
        if required:
            raise FormError("err_limit_amount")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FormError("err_limit_amount") from None
    if not value.is_finite() or value < 0 or value > MAX_YUAN or value != value.quantize(Decimal("0.01")):
        raise FormError("err_limit_amount")
    return int(value * 100)


def watts_from_form(form: Any, name: str) -> int | None:
    """Return a power limit in watts; None for an empty field."""
    text = _field(form, name)
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) <= MAX_WATTS:
        raise FormError("err_watts")
    return int(text)


def effective_from_form(form: Any, now: datetime) -> float:
    """Return when a change takes effect: the form's local date and time (empty: now); never in the past."""
    text = _field(form, "effective")
    if not text:
        return now.timestamp()
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise FormError("err_effective") from None
    if local.tzinfo is not None or local.year < 2000 or local.year > 2999:
        raise FormError("err_effective")
    at = local.replace(tzinfo=now.tzinfo).timestamp()
    if at < now.timestamp() - EFFECTIVE_GRACE_S:
        raise FormError("err_effective_past")
    return max(at, now.timestamp())


def next_monday(now: datetime, tz: tzinfo) -> str:
    """Return next Monday 00:00 local as a datetime-local field's value."""
    local = now.astimezone(tz).date()
    monday = local + timedelta(days=7 - local.weekday())
    return datetime.combine(monday, time()).strftime("%Y-%m-%dT%H:%M")
