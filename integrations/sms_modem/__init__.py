"""GSM/4G SMS modem on a serial port: AT commands, PDU mode (UCS2/GSM 7-bit), delivery reports.

``core.data["sms_modem"]`` is the SmsModem; integrations/notify sends through it from its persisted outbox.
With ``simulate: true`` the integration starts the project's modem simulator on a pty and uses it (demo, no hardware);
the simulator logs every SMS it receives and, with ``simulate_record: FILE``, appends each PDU to that JSONL file.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from .const import (
    CONF_BAUDRATE,
    CONF_COMMAND_TIMEOUT,
    CONF_HEALTH_INTERVAL,
    CONF_MIN_SIGNAL,
    CONF_NETWORK_TIMEOUT,
    CONF_PORT,
    CONF_SEND_TIMEOUT,
    CONF_SIMULATE,
    CONF_SIMULATE_RECORD,
    CONF_SMSC,
    CONF_STATUS_REPORT,
    CONF_VALIDITY,
    DEFAULT_BAUDRATE,
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_HEALTH_INTERVAL,
    DEFAULT_MIN_SIGNAL,
    DEFAULT_NETWORK_TIMEOUT,
    DEFAULT_VALIDITY,
    DOMAIN,
)
from .entity import ModemEntity
from .modem import SmsModem

if TYPE_CHECKING:
    from scada_core.core import Core
    from scada_core.validation import ConfigContext

_LOGGER = logging.getLogger(__name__)

PHONE = vol.Match(r"^\+?\d{3,20}$", msg="expected a phone number such as +8613800100500")


def _port_or_simulate(section: dict[str, Any]) -> dict[str, Any]:
    if not section.get(CONF_PORT) and not section[CONF_SIMULATE]:
        raise vol.Invalid("give the serial port of the modem (port: /dev/ttyUSB0) or simulate: true")
    return section


def _send_timeout_replaced(value: Any) -> Any:
    raise vol.Invalid(
        "send_timeout was replaced by network_timeout (default 180 s): a PDU the modem took is waited for, never resent"
    )


CONFIG_SCHEMA = vol.Schema(
    {
        DOMAIN: vol.All(
            vol.Schema(
                {
                    vol.Optional(CONF_PORT): str,
                    vol.Optional(CONF_SIMULATE, default=False): bool,
                    vol.Optional(CONF_SIMULATE_RECORD): str,
                    vol.Optional(CONF_BAUDRATE, default=DEFAULT_BAUDRATE): vol.All(int, vol.Range(min=300)),
                    vol.Optional(CONF_SMSC): PHONE,
                    vol.Optional(CONF_STATUS_REPORT, default=True): bool,
                    vol.Optional(CONF_VALIDITY, default=DEFAULT_VALIDITY): vol.All(int, vol.Range(min=0, max=255)),
                    vol.Optional(CONF_COMMAND_TIMEOUT, default=DEFAULT_COMMAND_TIMEOUT): vol.All(
                        vol.Coerce(float), vol.Range(min=0.05)
                    ),
                    vol.Optional(CONF_NETWORK_TIMEOUT, default=DEFAULT_NETWORK_TIMEOUT): vol.All(
                        vol.Coerce(float), vol.Range(min=0.1)
                    ),
                    vol.Optional(CONF_SEND_TIMEOUT): _send_timeout_replaced,
                    vol.Optional(CONF_HEALTH_INTERVAL, default=DEFAULT_HEALTH_INTERVAL): vol.All(
                        vol.Coerce(float), vol.Range(min=0.05)
                    ),
                    vol.Optional(CONF_MIN_SIGNAL, default=DEFAULT_MIN_SIGNAL): vol.All(int, vol.Range(min=0, max=31)),
                }
            ),
            _port_or_simulate,
        )
    },
    extra=vol.ALLOW_EXTRA,
)


def validate_config(context: ConfigContext, config: dict[str, Any]) -> None:
    """Refuse a record file whose folder does not exist."""
    if config[CONF_SIMULATE] and config.get(CONF_SIMULATE_RECORD):
        context.require_folder_of([DOMAIN, CONF_SIMULATE_RECORD], config[CONF_SIMULATE_RECORD])


async def async_setup(core: Core, config: dict[str, Any]) -> bool:
    """Start the modem (and, with simulate: true, the simulator it talks to)."""
    config = dict(config)
    if config[CONF_SIMULATE]:
        from .simulator import ModemSimulator  # noqa: PLC0415 - only the demo needs it

        record = config.get(CONF_SIMULATE_RECORD)
        simulator = ModemSimulator(record_path=core.config.path(record) if record else None)
        await simulator.async_start()
        core.async_on_stop(simulator.async_stop)
        core.data[f"{DOMAIN}_simulator"] = simulator
        config[CONF_PORT] = simulator.port
        _LOGGER.warning("SMS modem simulated on %s: no real SMS leaves this system", simulator.port)
    modem = SmsModem(core, config)
    core.data[DOMAIN] = modem
    await core.async_add_entities([ModemEntity(modem)])
    modem.async_start()
    core.async_on_stop(modem.async_stop)
    return True
