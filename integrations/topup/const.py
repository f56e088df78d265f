"""Constants of the top-up integration: order states, channels, limits, the options every provider shares."""
from __future__ import annotations

from typing import Final

DOMAIN: Final = "topup"
DEFAULT_PROVIDER: Final = "alipay"  # of orders made before there were others (the column's default)

RETURN_PATH: Final = "/m/topup/return"  # the tenant page a provider sends the browser back to
RETURN_REF: Final = "ref"  # its query parameter holding the order's signed reference
REFERENCE_PURPOSE: Final = "return"  # what a signed order reference is for (part of the signed message)
SECRET_RETURN: Final = "return"  # the kept secret that signs them

CHARSET: Final = "utf-8"
BEIJING_TZ: Final = "Asia/Shanghai"

MAX_YUAN_DIGITS: Final = 12  # digits before the point of an amount we accept (far above any top-up)
SHOWN_LIMIT: Final = 80  # characters of an untrusted value a log line or error message keeps
REFERENCE_LIMIT: Final = 64  # of a security event's reference (its column's size)
DETAIL_LIMIT: Final = 500  # of a security event's detail

STATE_PENDING: Final = "PENDING"
STATE_PAID: Final = "PAID"
STATE_CLOSED: Final = "CLOSED"
STATE_REFUNDED: Final = "REFUNDED"

CHANNEL_WAP: Final = "wap"
CHANNEL_QR: Final = "qr"

OPERATOR_ROLE: Final = "system"

CONF_GATEWAY: Final = "gateway"
CONF_NOTIFY_URL: Final = "notify_url"
CONF_RETURN_URL: Final = "return_url"
CONF_ORDER_TIMEOUT: Final = "order_timeout"
CONF_QUERY_INTERVAL: Final = "query_interval"
CONF_QUERY_AFTER: Final = "query_after"
CONF_SANDBOX: Final = "sandbox"
CONF_PORT: Final = "port"
CONF_HOST: Final = "host"
CONF_KEYS_DIR: Final = "keys_dir"
CONF_MIN_AMOUNT: Final = "min_amount"
CONF_MAX_AMOUNT: Final = "max_amount"
CONF_KIOSK_IDLE: Final = "kiosk_idle"
CONF_KIOSK: Final = "kiosk"
CONF_TENANTS: Final = "tenants"

DEFAULT_ORDER_TIMEOUT: Final = 15  # minutes
DEFAULT_QUERY_INTERVAL: Final = 60  # seconds
DEFAULT_QUERY_AFTER: Final = 120  # seconds an order waits for its notify before we ask
DEFAULT_MIN_AMOUNT: Final = "1.00"
DEFAULT_MAX_AMOUNT: Final = "5000.00"
LIMIT_MAX_FEN: Final = 0x7FFFFFFF  # a configured limit fits a meter's money register (int32 fen)
DEFAULT_KIOSK_IDLE: Final = 60  # seconds

SEC_AMOUNT_MISMATCH: Final = "amount_mismatch"
SEC_LATE_PAYMENT: Final = "paid_after_close"
SEC_REPLAYED: Final = "replayed"
