"""Messages of the home page: the figures, the trend, the floor map and the batch toolbar."""
from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "kpi_meters": ("表计总数", "Meters"), "kpi_online_rate": ("在线率", "online"),
    "kpi_sales_today": ("今日售电(元)", "Sales today (yuan)"), "kpi_energy_today": ("今日用电(kWh)", "Energy today (kWh)"),
    "kpi_month": ("本月", "this month"),
    "trend_sales": ("近30天售电(元/日)", "Sales, last 30 days (yuan/day)"),
    "trend_energy": ("近30天用电(kWh/日)", "Energy, last 30 days (kWh/day)"),
    "top_consumers": ("本月用电排行", "Top consumers this month"), "no_alarms": ("当前没有报警", "No alarm in force"),
    "no_data": ("暂无数据", "No data"),
    "tab_map": ("楼层平面图", "Floor map"), "tab_table": ("表计列表", "Meter table"),
    "page_size": ("每页", "Per page"), "floor_unknown": ("未分楼层", "No floor"),
    "choose_action": ("选择操作", "Choose an action"),
    "choose_action_first": ("请先选择要执行的操作", "Choose an action first"),
    "nothing_selected": ("请先勾选要操作的表计", "Select the meters first"),
    "batch_question": ("确认对 {count} 户{action}？", "{action} {count} meters?"),
}
MESSAGES.update({
    "batch_history": ("批量操作记录", "Batch history"), "no_batches": ("还没有批量操作", "No batch yet"),
    "batch_by_api": ("接口调用", "through the API"), "no_such_batch": ("没有这个批量操作", "No such batch"),
})
