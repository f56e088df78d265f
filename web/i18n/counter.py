"""Messages of the counter: the sale's confirmation (money before and after, kWh at the price now)."""
from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "balance_before": ("购电前余额", "Balance before"), "balance_after": ("购电后余额", "Balance after"),
    "price_now": ("当前电价", "Price now"), "yuan_per_kwh": ("元/kWh", "yuan/kWh"),
    "kwh_bought": ("可购电量", "Energy it buys"), "kwh_returned": ("退回电量", "Energy returned"),
    "err_over_cap": ("超过囤积限值：购电后余额将为 {after} 元，上限 {cap} 元",
                     "Over the credit cap: the balance would be {after} yuan, the cap is {cap} yuan"),
}
