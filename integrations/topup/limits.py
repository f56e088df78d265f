"""Top-up amount limits and order life: parsed from a provider's section, checked on every order."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import voluptuous as vol

from .const import CONF_MAX_AMOUNT, CONF_MIN_AMOUNT, CONF_ORDER_TIMEOUT, LIMIT_MAX_FEN
from .money import fen_to_yuan, yuan_to_fen


@dataclass(frozen=True, slots=True)
class TopUpLimits:
    """Allowed top-up amounts and order life."""

    min_fen: int
    max_fen: int
    timeout_s: int
    subject: str


def amount_validator(value: Any) -> int:
    """Accept a yuan amount with at most two decimals (up to what a meter holds) and return it in fen."""
    try:
        fen = yuan_to_fen(str(value))
    except ValueError as err:
        raise vol.Invalid(str(err)) from None
    if fen > LIMIT_MAX_FEN:
        raise vol.Invalid(f"amount {value} is above {fen_to_yuan(LIMIT_MAX_FEN)}")
    return fen


def limits_in_order(conf: dict[str, Any]) -> dict[str, Any]:
    """Refuse a top-up range no payment fits: a minimum of nothing, or above the maximum."""
    low, high = conf[CONF_MIN_AMOUNT], conf[CONF_MAX_AMOUNT]
    if low < 1:
        raise vol.Invalid(
            f"{CONF_MIN_AMOUNT} must be at least 0.01, got {fen_to_yuan(low)}", path=[CONF_MIN_AMOUNT]
        )
    if low > high:
        raise vol.Invalid(
            f"{CONF_MIN_AMOUNT} {fen_to_yuan(low)} is above {CONF_MAX_AMOUNT} {fen_to_yuan(high)}",
            path=[CONF_MIN_AMOUNT],
        )
    return conf


def topup_limits(config: dict[str, Any], subject_key: str) -> TopUpLimits:
    """Return the amount limits, order life and subject a provider's section sets."""
    return TopUpLimits(config[CONF_MIN_AMOUNT], config[CONF_MAX_AMOUNT], config[CONF_ORDER_TIMEOUT] * 60,
                       config[subject_key])
