"""Constants of the friendly_credit integration."""
from __future__ import annotations

from typing import Final

DOMAIN: Final = "friendly_credit"
SERVICE_TRIP_FOR_ARREARS: Final = "trip_for_arrears"
SERVICE_CANCEL_TRIP: Final = "cancel_trip"
SERVICE_STATUS: Final = "status"
