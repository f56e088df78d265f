"""Messages of the finding and exporting pages: the transaction search (交易查询) and the readings export (抄表导出)."""
from __future__ import annotations

from typing import Final

# key: (zh-CN, en)
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "nav_transactions": ("交易查询", "Transactions"),
    "col_txn": ("流水号", "No."), "col_shop": ("商铺", "Shop"),
    "all_kinds": ("全部类型", "All kinds"), "all_methods": ("全部方式", "All methods"),
    "filter_shop": ("商铺或账户号", "Shop or account no."), "filter_receipt": ("收据号(可填末几位)",
                                                                     "Receipt no. (or its last digits)"),
    "filter_operator": ("操作员编号", "Operator id"),
    "act_transactions_export": ("导出交易流水", "Exported transactions"),
    "act_accounts_export": ("导出账户列表", "Exported the account list"),
    "act_account_history_export": ("导出账户流水", "Exported an account's history"),
    "act_meter_readings_export": ("导出抄表记录", "Exported a meter's readings"),
    "reading_interval": ("间隔", "Interval"), "interval_all": ("每次抄表", "Every reading"),
    "interval_15m": ("15 分钟", "15 minutes"), "interval_1h": ("1 小时", "1 hour"), "interval_1d": ("1 天", "1 day"),
    "consumption_by_day": ("用电扣费(按日合计)", "Consumption charged, per day"), "col_day": ("日期", "Day"),
    "consumption_day": ("用电扣费(当日合计)", "Consumption charged (the day's total)"),
    "act_operators_export": ("导出操作员列表", "Exported the operator list"),
    # 抄表导出's columns beyond the grid's
    "col_room": ("房间", "Room"), "col_relay": ("继电器", "Relay"), "col_mode": ("控制模式", "Mode"),
    "col_ua": ("Ua(V)", "Ua (V)"), "col_ub": ("Ub(V)", "Ub (V)"), "col_uc": ("Uc(V)", "Uc (V)"),
    "col_ia": ("Ia(A)", "Ia (A)"), "col_ib": ("Ib(A)", "Ib (A)"), "col_ic": ("Ic(A)", "Ic (A)"),
    "col_pf": ("功率因数", "Power factor"), "col_hz": ("频率(Hz)", "Frequency (Hz)"),
}
