"""Constants of the automation engine."""
from __future__ import annotations

from typing import Final

DOMAIN: Final = "automation"
EVENT_TIME_CHANGED: Final = "time_changed"
EVENT_AUTOMATION_TRIGGERED: Final = "automation_triggered"
EVENT_ALARM: Final = "alarm"

CONF_ID: Final = "id"
CONF_ALIAS: Final = "alias"
CONF_TRIGGER: Final = "trigger"
CONF_CONDITION: Final = "condition"
CONF_ACTION: Final = "action"
CONF_MODE: Final = "mode"
CONF_MAX: Final = "max"
CONF_PLATFORM: Final = "platform"
CONF_ENTITY_ID: Final = "entity_id"
CONF_ATTRIBUTE: Final = "attribute"
CONF_FOR: Final = "for"
CONF_VARIABLES: Final = "variables"

MODE_SINGLE: Final = "single"
MODE_QUEUED: Final = "queued"
MODES: Final = (MODE_SINGLE, MODE_QUEUED)
DEFAULT_MAX_QUEUED: Final = 10
DEFAULT_TRACE_COUNT: Final = 20

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
