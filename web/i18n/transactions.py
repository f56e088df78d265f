"""Messages of the transaction search (交易查询)."""
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
}
