"""Money in top-ups: integer fen and two-decimal yuan strings, never floats."""
from __future__ import annotations

import pytest

from integrations.topup.money import fen_to_yuan, yuan_to_fen


def test_amounts_are_decimal_strings() -> None:
    """Fen <-> yuan with exactly two decimals, no floats; three decimals refused."""
    assert fen_to_yuan(5000) == "50.00"
    assert fen_to_yuan(10) == "0.10"
    assert yuan_to_fen("0.10") == 10
    assert yuan_to_fen("50") == 5000
    for bad in ("0.001", "abc", "NaN", ""):
        with pytest.raises(ValueError):
            yuan_to_fen(bad)
