"""Messages of account opening: the meters by room or name, and money found on them (开户余额)."""
from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "opening_meters": ("表计（房号、名称或编号，多块用逗号分隔）", "Meters (room, name or id; comma separated)"),
    "err_meters_unknown": ("找不到表计，或不止一块表符合：{names}", "No single meter matches: {names}"),
    "err_meters_count": ("请填写 1 至 50 块表计", "Name 1 to 50 meters"),
    "leftover_title": ("表内剩余金额", "Money found on the meters"),
    "leftover_intro": ("以下表计内还有上一位用户的钱（最近读数；开户时以表内读数为准），请选择如何处理：",
                       "These meters still hold money from before (last reading; the meter's own reading at opening "
                       "counts). Choose what happens to it:"),
    "leftover_total": ("合计", "Total"),
    "leftover_keep": ("保留给新租户", "Keep it for the new tenant"),
    "leftover_keep_hint": ("钱留在表内，新租户可以直接用电", "The money stays on the meter for the new tenant"),
    "leftover_clear": ("清零", "Clear it"),
    "leftover_clear_hint": ("从表内扣除，不归新租户（原用户的退款请另行办理）",
                            "Taken off the meter; not the new tenant's (refund the previous tenant separately)"),
    "leftover_transfer": ("转入其他账户", "Transfer it to another account"),
    "leftover_transfer_hint": ("从表内扣除，存入下面账户的余额（钱包）", "Taken off the meter into this account's wallet"),
    "leftover_account": ("接收账户号", "Receiving account no."),
    "leftover_confirm": ("确认开户", "Open the account"),
}
