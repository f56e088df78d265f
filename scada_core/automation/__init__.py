"""Home Assistant style automations: triggers, conditions, scripts, traces and alarms."""
