"""Messages of one meter's page: its remote controls."""
from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "remote_control": ("遥控", "Remote control"),
    "meter_question": ("确认对 {name} {action}？", "{action}: {name}?"),
    "control_hint": ("电价下发、设置下发按系统中的电价与报警、透支、过载设置写入电表；结果见批量操作记录。",
                     "Push tariff and push settings write the system's tariff, alarm, overdraft and overload "
                     "settings to the meter; the outcome is in the batch history."),
}
MESSAGES.update({
    "consumption": ("用电量", "Consumption"), "use_day": ("日(按小时)", "Day (hourly)"),
    "use_month": ("月(按日)", "Month (daily)"), "use_year": ("年(按月)", "Year (monthly)"),
    "use_total": ("本期", "This period"), "use_previous_day": ("昨日(环比)", "Yesterday"),
    "use_previous_month": ("上月(环比)", "Last month"), "use_previous_year": ("去年全年(环比)", "Last year"),
    "use_last_year": ("去年同期(同比)", "Same period last year"),
    "history_sales": ("售电记录", "Sales"), "history_alarms": ("报警记录", "Alarms"),
    "history_commands": ("遥控记录", "Commands"), "history_readings": ("抄表记录", "Readings"),
})
