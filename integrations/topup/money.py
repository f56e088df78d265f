"""Conversions between integer fen and the yuan strings gateways and top-up forms speak (never floats)."""
from __future__ import annotations

import re
from decimal import Decimal

from .const import MAX_YUAN_DIGITS
from .logsafe import shown

CENT = Decimal("0.01")
# ASCII digits only (``\d`` would take any script's), no sign, exponent, space or underscore.
AMOUNT = re.compile(rf"([0-9]{{1,{MAX_YUAN_DIGITS}}})(?:\.([0-9]{{1,2}}))?")


def fen_to_yuan(fen: int) -> str:
    """Return ``fen`` as a yuan string with exactly two decimals, e.g. 5000 -> '50.00'."""
    return f"{(Decimal(fen) / 100).quantize(CENT)}"


def yuan_to_fen(text: str) -> int:
    """Parse a yuan amount (``^[0-9]+(\\.[0-9]{1,2})?$``, at most MAX_YUAN_DIGITS before the point) into fen;
    raise ValueError for anything else."""
    match = AMOUNT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not an amount in yuan with at most two decimals: {shown(text)}")
    whole, cents = match.groups()
    return int(whole) * 100 + int((cents or "0").ljust(2, "0"))
