"""Conversions between integer fen and the yuan strings Alipay speaks (never floats)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")


def fen_to_yuan(fen: int) -> str:
    """Return ``fen`` as a yuan string with exactly two decimals, e.g. 5000 -> '50.00'."""
    return f"{(Decimal(fen) / 100).quantize(CENT)}"


def yuan_to_fen(text: str) -> int:
    """Parse a yuan amount with at most two decimals into fen; raise ValueError otherwise."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    try:
        exact = value.is_finite() and value == value.quantize(CENT)
    except InvalidOperation:  # more digits than the decimal context holds
        raise ValueError(f"amount {text!r} is too large") from None
    if not exact:
        raise ValueError(f"not an amount with at most two decimals: {text!r}")
    return int(value * 100)
