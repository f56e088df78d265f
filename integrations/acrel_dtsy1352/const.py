"""Constants of the Acrel DTSY1352 prepaid meter integration."""
from __future__ import annotations

from typing import Final

DOMAIN: Final = "acrel_dtsy1352"
PROFILE: Final = "dtsy1352"
METER_TYPE: Final = "dtsy1352"

CONF_BUS: Final = "bus"
CONF_METERS: Final = "meters"
CONF_NAME: Final = "name"
CONF_ADDRESS: Final = "address"
CONF_KEY: Final = "key"
CONF_CIPHER: Final = "cipher"
CONF_STATUS_INTERVAL: Final = "status_interval"
CONF_ENERGY_INTERVAL: Final = "energy_interval"

SERVICE_SELL: Final = "sell"
SERVICE_REFUND: Final = "refund"
SERVICE_READ_PREPAID: Final = "read_prepaid"
SERVICE_TRIP: Final = "trip"
SERVICE_RELEASE: Final = "release"  # end forced control: the balance decides the relay
SERVICE_CLOSE: Final = "close"  # release, and the relay must then be closed
SERVICE_FORCE_CLOSE: Final = "force_close"  # forced close (保电): closed whatever the balance
SERVICE_HOLD: Final = "hold"  # the 保电 name of force_close
SERVICE_RESTORE_PREPAID: Final = "restore_prepaid"
SERVICE_PUSH_TARIFF: Final = "push_tariff"
SERVICE_PUSH_SETTINGS: Final = "push_settings"

ATTR_AMOUNT_FEN: Final = "amount_fen"
ATTR_PURCHASE_COUNT: Final = "purchase_count"
ATTR_REMAINING_FEN: Final = "remaining_fen"
ATTR_PRICE: Final = "price"
ATTR_PRICES: Final = "prices"
ATTR_TOU: Final = "tou"
ATTR_ALARM1_FEN: Final = "alarm1_fen"
ATTR_ALARM2_FEN: Final = "alarm2_fen"
ATTR_OVERDRAFT_FEN: Final = "overdraft_fen"
ATTR_OVERLOAD_W: Final = "overload_w"

RATES: Final = ("sharp", "peak", "flat", "valley")
RELAY_CLOSED: Final = "closed"
RELAY_OPEN: Final = "open"
MODE_NORMAL: Final = "normal"
MODE_HOLD: Final = "hold"
MODE_FORCED_OFF: Final = "forced_off"
