"""The plain profile meter: billed by the server from its readings."""
from __future__ import annotations

from integrations.modbus.profile_meter import ProfileMeter

DOMAIN = "modbus_meter"


class PlainMeter(ProfileMeter):
    """A meter described by its profile alone."""

    domain = DOMAIN
