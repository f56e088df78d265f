"""Entity services of the DTSY1352 (sell, refund, trip, ...): schemas and registration."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from .const import (
    ATTR_ALARM1_FEN,
    ATTR_ALARM2_FEN,
    ATTR_AMOUNT_FEN,
    ATTR_OVERDRAFT_FEN,
    ATTR_OVERLOAD_W,
    ATTR_PRICE,
    ATTR_PRICES,
    ATTR_PURCHASE_COUNT,
    ATTR_TOU,
    DOMAIN,
    RATES,
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

if TYPE_CHECKING:
    from scada_core.core import Core

HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_FEN = 0x7FFFFFFF


def price(value: Any) -> str:
    """Accept a price in yuan per kWh with at most 4 decimals; return it as a plain string."""
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise vol.Invalid(f"price {value!r} is not a number") from None
    if not number.is_finite() or number < 0 or number > Decimal("99.9999"):
        raise vol.Invalid(f"price {value!r} must be between 0 and 99.9999 yuan/kWh")
    if number != number.quantize(Decimal("0.0001")):
        raise vol.Invalid(f"price {value!r} has more than 4 decimals")
    return str(number.quantize(Decimal("0.0001")))


def _hhmm(value: Any) -> str:
    if not isinstance(value, str) or not HHMM.match(value):
        raise vol.Invalid(f"expected a time HH:MM, got {value!r}")
    return value


FEN = vol.All(int, vol.Range(min=0, max=MAX_FEN))
POSITIVE_FEN = vol.All(int, vol.Range(min=1, max=MAX_FEN))
COUNT = vol.All(int, vol.Range(min=0, max=0xFFFF))  # a 16-bit register: 0 follows 65535

SELL_SCHEMA = {vol.Required(ATTR_AMOUNT_FEN): POSITIVE_FEN, vol.Required(ATTR_PURCHASE_COUNT): COUNT}
TARIFF_SCHEMA = {
    vol.Exclusive(ATTR_PRICE, "price"): price,
    vol.Exclusive(ATTR_PRICES, "price"): {vol.Required(rate): price for rate in RATES},
    vol.Optional(ATTR_TOU): vol.All(
        [{vol.Required("start"): _hhmm, vol.Required("rate"): vol.In(RATES)}], vol.Length(min=1, max=14)
    ),
}
SETTINGS_SCHEMA = {
    vol.Optional(ATTR_ALARM1_FEN): FEN,
    vol.Optional(ATTR_ALARM2_FEN): FEN,
    vol.Optional(ATTR_OVERDRAFT_FEN): FEN,
    vol.Optional(ATTR_OVERLOAD_W): vol.All(int, vol.Range(min=0, max=0xFFFF)),
}

# service -> (schema fields, entity method)
SERVICES: dict[str, tuple[dict[Any, Any], str]] = {
    SERVICE_SELL: (SELL_SCHEMA, "async_sell"),
    SERVICE_REFUND: (SELL_SCHEMA, "async_refund"),
    SERVICE_READ_PREPAID: ({}, "async_read_prepaid"),
    SERVICE_TRIP: ({}, "async_trip"),
    SERVICE_RELEASE: ({}, "async_release"),
    SERVICE_CLOSE: ({}, "async_close"),
    SERVICE_FORCE_CLOSE: ({}, "async_force_close"),
    SERVICE_HOLD: ({}, "async_hold"),
    SERVICE_RESTORE_PREPAID: ({}, "async_restore_prepaid"),
    SERVICE_PUSH_TARIFF: (TARIFF_SCHEMA, "async_push_tariff"),
    SERVICE_PUSH_SETTINGS: (SETTINGS_SCHEMA, "async_push_settings"),
}

DESCRIPTIONS = {
    SERVICE_SELL: "售电：充值金额(分)与新的购电次数(上次+1) / sell: amount in fen and the new purchase count",
    SERVICE_REFUND: "退费：从表内剩余金额扣回 / refund: take money back from the meter",
    SERVICE_READ_PREPAID: "读取剩余金额与购电次数 / read remaining money and purchase count",
    SERVICE_TRIP: "远程拉闸（强制分闸） / trip: forced off",
    SERVICE_RELEASE: "解除强制控制，回到预付费控制（由余额决定通断） / release: back to prepaid control, "
    "the balance decides the relay",
    SERVICE_CLOSE: "远程合闸：解除强制控制并确认继电器闭合（欠费时失败） / close: release forced control "
    "and confirm the relay closed (fails while in arrears)",
    SERVICE_FORCE_CLOSE: "强制合闸（保电，欠费也不拉闸） / force close: keep the relay closed whatever the balance",
    SERVICE_HOLD: "保电，同强制合闸 / hold: the same as force_close",
    SERVICE_RESTORE_PREPAID: "恢复预付费控制 / back to prepaid control",
    SERVICE_PUSH_TARIFF: "下发电价/分时费率 / push price or TOU tariff",
    SERVICE_PUSH_SETTINGS: "下发报警与透支/过载设置 / push alarm, overdraft and overload settings",
}


def async_register_services(core: Core) -> None:
    """Register every DTSY1352 entity service."""
    for service, (schema, method) in SERVICES.items():
        core.services.async_register_entity_service(DOMAIN, service, schema, method, DESCRIPTIONS[service])
