"""The modem entity: online/offline, with signal, registration and queue length as attributes."""
from __future__ import annotations

from typing import Any

from scada_core.entity import Entity

from .const import ENTITY_ID
from .modem import SmsModem

STATE_ONLINE = "online"
STATE_OFFLINE = "offline"
STATE_NOT_REGISTERED = "not_registered"


class ModemEntity(Entity):
    """Show one SMS modem's health."""

    def __init__(self, modem: SmsModem) -> None:
        super().__init__()
        self.entity_id = ENTITY_ID
        self._modem = modem
        self._attr_name = "短信猫"
        self._attr_unique_id = f"sms_modem_{modem.config['port']}"

    @property
    def state(self) -> str:
        """Return online, not_registered or offline."""
        if not self._modem.online:
            return STATE_OFFLINE
        return STATE_ONLINE if self._modem.registered else STATE_NOT_REGISTERED

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return signal, registration, SIM and queue figures."""
        return self._modem.attributes()

    async def async_added_to_core(self) -> None:
        """Rewrite the state whenever the modem changes."""
        self.async_on_remove(self._modem.add_listener(self.async_write_state))
