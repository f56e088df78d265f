"""Per-meter status for every screen: 未开户/开户/报警1/报警2/欠费/失联 plus hold and forced-off flags."""

from __future__ import annotations

from typing import Any

from scada_core.const import STATE_UNAVAILABLE
from scada_core.core import State

from .const import LEVEL_ALARM1, LEVEL_ALARM2, LEVEL_ARREARS
from .models import MeterRow

LABELS = {
    "not_opened": ("未开户", "not opened"),
    "opened": ("开户", "opened"),
    LEVEL_ALARM1: ("报警1", "alarm 1"),
    LEVEL_ALARM2: ("报警2", "alarm 2"),
    LEVEL_ARREARS: ("欠费", "arrears"),
    "offline": ("失联", "offline"),
}


def meter_status(meter: MeterRow | None, state: State | None, language: str = "zh-CN") -> dict[str, Any]:
    """Return {status, label, hold, forced_off, blocked, tripped, overload} of one meter."""
    attrs = state.attributes if state is not None else {}
    if meter is None or meter.account_id is None:
        status = "not_opened"
    elif state is None or state.state == STATE_UNAVAILABLE or attrs.get("online") is False:
        status = "offline"
    elif meter.alarm_level in (LEVEL_ALARM1, LEVEL_ALARM2, LEVEL_ARREARS):
        status = meter.alarm_level
    else:
        status = "opened"
    zh, en = LABELS[status]
    return {
        "status": status,
        "label": en if language == "en" else zh,
        "hold": attrs.get("prepaid_mode") == "hold",
        "forced_off": attrs.get("prepaid_mode") == "forced_off",
        "relay": attrs.get("relay"),
        "blocked": bool(meter.blocked) if meter is not None else False,
        "blocked_reason": meter.blocked_reason if meter is not None else None,
        "tripped": bool(meter.tripped) if meter is not None else False,
        "overload": bool(meter.overload) if meter is not None else False,
        "account_id": meter.account_id if meter is not None else None,
        "mode": meter.mode if meter is not None else None,
    }
