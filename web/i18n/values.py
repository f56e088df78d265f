"""How values read for people: every enum a page, export, receipt or audit line shows, in both languages."""
from __future__ import annotations

from typing import Final

# key: (zh-CN, en); a family is "<family>_<value>", looked up by web.format.Formatter.enum.
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "relay_closed": ("合闸", "closed"), "relay_open": ("拉闸", "tripped"),
    "bool_True": ("是", "yes"), "bool_False": ("否", "no"),
    "online_True": ("在线", "online"), "online_False": ("失联", "offline"),
    "mode_normal": ("预付费", "prepaid"), "mode_hold": ("保电", "held on"), "mode_forced_off": ("强制拉闸", "forced off"),
    "billing_meter": ("表内计费", "billed in the meter"), "billing_server": ("系统计费", "billed by the system"),
    "unit_kwh": ("度", "kWh"), "unit_yuan": ("元", "yuan"), "unit_w": ("W", "W"),
    "empty_value": ("—", "—"), "advanced": ("高级信息", "Advanced"),
    "audit_changed": ("{name} {before}→{after}", "{name} {before}→{after}"),
}
