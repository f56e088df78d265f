"""Messages of the counter: the sale's confirmation (money before and after, kWh at the price now)."""
from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "balance_before": ("购电前余额", "Balance before"), "balance_after": ("购电后余额", "Balance after"),
    "price_now": ("当前电价", "Price now"), "yuan_per_kwh": ("元/kWh", "yuan/kWh"),
    "kwh_bought": ("可购电量", "Energy it buys"), "kwh_returned": ("退回电量", "Energy returned"),
    "find_tenant": ("查找用户", "Find the tenant"), "find_hint": ("户名、手机、房号、账户号或表名", "Name, phone, room, account no. or meter"),
    "choose": ("选择", "Choose"), "found_none": ("没有找到符合的已开户用户", "No open account matches"),
    "err_over_cap": ("超过囤积限值：购电后余额将为 {after} 元，上限 {cap} 元",
                     "Over the credit cap: the balance would be {after} yuan, the cap is {cap} yuan"),
}
