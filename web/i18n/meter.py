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
