"""Constants of the modbus integration (buses, gateways, the command path)."""
from __future__ import annotations

from typing import Final

DOMAIN: Final = "modbus"

CONF_NAME: Final = "name"
CONF_LABEL: Final = "label"  # how people call a gateway or bus (shown on pages; the name stays the id)
CONF_TYPE: Final = "type"
CONF_HOST: Final = "host"
CONF_PORT: Final = "port"
CONF_BAUDRATE: Final = "baudrate"
CONF_BYTESIZE: Final = "bytesize"
CONF_PARITY: Final = "parity"
CONF_STOPBITS: Final = "stopbits"
CONF_TIMEOUT: Final = "timeout"
CONF_RETRIES: Final = "retries"
CONF_MESSAGE_WAIT_MS: Final = "message_wait_ms"
CONF_BUSES: Final = "buses"
CONF_STATUS_INTERVAL: Final = "status_interval"
CONF_ENERGY_INTERVAL: Final = "energy_interval"
CONF_OFFLINE_AFTER: Final = "offline_after"
CONF_OFFLINE_RETRY_SWEEPS: Final = "offline_retry_sweeps"
CONF_RECONNECT_MAX: Final = "reconnect_max"
CONF_COMMAND_TIMEOUT: Final = "command_timeout"
CONF_COMMAND_ATTEMPTS: Final = "command_attempts"

TYPE_SERIAL: Final = "serial"
TYPE_RTU_OVER_TCP: Final = "rtu_over_tcp"
TYPE_TCP: Final = "tcp"

DEFAULT_BAUDRATE: Final = 9600
DEFAULT_TCP_PORT: Final = 502
DEFAULT_TIMEOUT: Final = 1.0
DEFAULT_RETRIES: Final = 1
DEFAULT_STATUS_INTERVAL: Final = 60.0
DEFAULT_ENERGY_INTERVAL: Final = 1800.0
DEFAULT_OFFLINE_AFTER: Final = 3
DEFAULT_OFFLINE_RETRY_SWEEPS: Final = 5
DEFAULT_RECONNECT_MIN: Final = 0.5
DEFAULT_RECONNECT_MAX: Final = 60.0
# While backing off, a line probes its gateway (a bare TCP connect, or the serial device's presence) this
# often and reconnects as soon as it answers again.
PROBE_INTERVAL_S: Final = 1.0
PROBE_TIMEOUT_S: Final = 1.0
DEFAULT_COMMAND_TIMEOUT: Final = 300.0
DEFAULT_COMMAND_ATTEMPTS: Final = 3

# Above 19200 baud the Modbus serial line spec fixes t3.5 at 1.75 ms.
FIXED_T35_BAUD: Final = 19200
FIXED_T35_S: Final = 0.00175

# Command states (field_commands.state).
CMD_QUEUED: Final = "queued"
CMD_SENT: Final = "sent"
CMD_RETRYING: Final = "retrying"
CMD_CONFIRMED: Final = "confirmed"
CMD_FAILED: Final = "failed"
CMD_EXPIRED: Final = "expired"
CMD_OPEN_STATES: Final = (CMD_QUEUED, CMD_SENT, CMD_RETRYING)
CMD_DONE_STATES: Final = (CMD_CONFIRMED, CMD_FAILED, CMD_EXPIRED)

# An open command past its deadline is expired within this long; a failed attempt is retried after this
# delay times the attempts so far.
EXPIRY_CHECK_S: Final = 0.5
RETRY_DELAY_S: Final = 1.0

EVENT_COMMAND_UPDATE: Final = "field_command"
DATA_HUB: Final = "modbus"
DATA_WIRING: Final = "modbus_wiring"

# An optional register a profile meter refused (illegal address / function) is asked again this often.
UNSUPPORTED_RETRY_S: Final = 3600.0
