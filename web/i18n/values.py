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
    "cmd_sell": ("售电写表", "sale to meter"), "cmd_refund": ("退费写表", "refund from meter"),
    "cmd_read_prepaid": ("读取剩余金额", "read money"), "cmd_trip": ("拉闸", "trip"), "cmd_close": ("合闸", "close"),
    "cmd_release": ("恢复预付费", "back to prepaid"), "cmd_restore_prepaid": ("恢复预付费", "back to prepaid"),
    "cmd_force_close": ("保电", "hold"), "cmd_hold": ("保电", "hold"),
    "cmd_push_tariff": ("电价下发", "push tariff"), "cmd_push_settings": ("设置下发", "push settings"),
    "cmd_state_queued": ("排队中", "queued"), "cmd_state_sent": ("已发送", "sent"), "cmd_state_retrying": ("重试中", "retrying"),
    "cmd_state_confirmed": ("成功", "done"), "cmd_state_failed": ("失败", "failed"), "cmd_state_expired": ("超时", "expired"),
    "audit_changed": ("{name} {before}→{after}", "{name} {before}→{after}"),
}
