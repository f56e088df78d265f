"""Constants of the automation integration."""
from __future__ import annotations

from typing import Final

from scada_core.automation.const import DOMAIN as DOMAIN

FRIENDLY_CREDIT: Final = "friendly_credit"
SERVICE_TRIGGER: Final = "trigger"
SERVICE_TURN_ON: Final = "turn_on"
SERVICE_TURN_OFF: Final = "turn_off"
SERVICE_RAISE_ALARM: Final = "raise_alarm"
SERVICE_CLEAR_ALARM: Final = "clear_alarm"
DEFAULT_ALARM_LEVEL: Final = "warning"
ALARM_LEVELS: Final = ("info", "warning", "critical")
# How long POST /api/automations/{id}/trigger waits for the run before answering with its trace so far.
TRIGGER_WAIT: Final = 10.0
