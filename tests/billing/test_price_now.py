"""The price in force now (the counter shows the kWh a sale buys at it)."""
from __future__ import annotations

from datetime import datetime

from scada_core.billing.tariffs import price_now

TOU = {"kind": "tou", "prices": {"sharp": "1.35", "peak": "1.10", "flat": "0.75", "valley": "0.38"},
       "periods": [{"start": "00:00", "rate": "valley"}, {"start": "08:00", "rate": "flat"},
                   {"start": "18:00", "rate": "peak"}, {"start": "22:00", "rate": "valley"}]}


def test_price_now_by_kind_and_hour() -> None:
    assert price_now({"kind": "flat", "price": "1.00"}, datetime(2026, 12, 4, 3)) == "1.00"
    assert [price_now(TOU, datetime(2026, 12, 4, h, 30)) for h in (3, 8, 17, 18, 23)] == [
        "0.38", "0.75", "0.75", "1.10", "0.38"]
    tiered = {"kind": "tiered", "bands": [{"up_to_kwh": 100, "price": "0.5"}, {"price": "0.8"}]}
    assert price_now(tiered, datetime(2026, 12, 4, 12)) is None  # it depends on the month's use
