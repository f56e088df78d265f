"""Constants of the sms_modem integration."""
from __future__ import annotations

from typing import Final

DOMAIN: Final = "sms_modem"
ENTITY_ID: Final = "sms_modem.modem"

CONF_PORT: Final = "port"
CONF_BAUDRATE: Final = "baudrate"
CONF_SIMULATE: Final = "simulate"
CONF_SIMULATE_RECORD: Final = "simulate_record"
CONF_SMSC: Final = "smsc"
CONF_STATUS_REPORT: Final = "status_report"
CONF_VALIDITY: Final = "validity"
CONF_COMMAND_TIMEOUT: Final = "command_timeout"
CONF_NETWORK_TIMEOUT: Final = "network_timeout"
CONF_SEND_TIMEOUT: Final = "send_timeout"  # replaced by network_timeout; named only to explain the change
CONF_HEALTH_INTERVAL: Final = "health_interval"
CONF_MIN_SIGNAL: Final = "min_signal"

DEFAULT_BAUDRATE: Final = 115200
DEFAULT_COMMAND_TIMEOUT: Final = 5.0
# How long the network may take to answer a written PDU with +CMGS (vendors' AT manuals: up to 120 s).
DEFAULT_NETWORK_TIMEOUT: Final = 180.0
DEFAULT_HEALTH_INTERVAL: Final = 30.0
DEFAULT_VALIDITY: Final = 0xA7  # relative TP-VP: 24 hours
DEFAULT_MIN_SIGNAL: Final = 10  # below about -93 dBm the modem is flagged weak
PROMPT_TIMEOUT: Final = 5.0
ESC_SETTLE: Final = 0.2  # after ESC, time for the modem's answer to it to pass before the next command
REOPEN_MIN: Final = 1.0
REOPEN_MAX: Final = 60.0

CTRL_Z: Final = "\x1a"
ESC: Final = "\x1b"

EVENT_DELIVERY_REPORT: Final = "sms_delivery_report"

# Registration states of +CREG/+CEREG <stat>.
REG_NOT_REGISTERED: Final = 0
REG_HOME: Final = 1
REG_SEARCHING: Final = 2
REG_DENIED: Final = 3
REG_ROAMING: Final = 5
REGISTERED: Final = (REG_HOME, REG_ROAMING)
REGISTRATION_NAMES: Final = {
    0: "not_registered",
    1: "home",
    2: "searching",
    3: "denied",
    4: "unknown",
    5: "roaming",
}

# Unsolicited result codes routed away from command replies.
URC_PREFIXES: Final = ("+CDS:", "+CDSI:", "+CMTI:", "RING", "+CREG:", "+CEREG:", "+CMT:", "+CBM:", "NO CARRIER")
FINAL_OK: Final = "OK"
FINAL_ERROR: Final = "ERROR"
CMS_ERROR: Final = "+CMS ERROR:"
CME_ERROR: Final = "+CME ERROR:"

# PDU limits (TS 23.040): 140 octets of user data; a 6-octet UDH for concatenation.
MAX_GSM7_SINGLE: Final = 160
MAX_GSM7_PART: Final = 153
MAX_UCS2_SINGLE: Final = 70
MAX_UCS2_PART: Final = 67
