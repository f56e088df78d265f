"""Constants of the Alipay integration."""
from __future__ import annotations

from typing import Final

DOMAIN: Final = "alipay"
PROVIDER_ALIPAY: Final = "alipay"  # the provider column of its orders
ALIPAY_ORDER_PREFIX: Final = "TU"

GATEWAY_PRODUCTION: Final = "https://openapi.alipay.com/gateway.do"
GATEWAY_PATH: Final = "/gateway.do"
NOTIFY_PATH: Final = "/api/alipay/notify"
RETURN_PATH: Final = "/m/topup/return"  # the tenant page a provider sends the browser back to
RETURN_REF: Final = "ref"  # its query parameter holding the order's signed reference
REFERENCE_PURPOSE: Final = "return"  # what a signed order reference is for (part of the signed message)
SECRET_RETURN: Final = "return"  # the kept secret that signs them

CHARSET: Final = "utf-8"
SIGN_TYPE: Final = "RSA2"
VERSION: Final = "1.0"
FORMAT: Final = "JSON"
TIMESTAMP_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
BEIJING_TZ: Final = "Asia/Shanghai"

METHOD_WAP_PAY: Final = "alipay.trade.wap.pay"
METHOD_PRECREATE: Final = "alipay.trade.precreate"
METHOD_QUERY: Final = "alipay.trade.query"
METHOD_REFUND: Final = "alipay.trade.refund"
METHOD_CLOSE: Final = "alipay.trade.close"
PRODUCT_WAP: Final = "QUICK_WAP_WAY"

CODE_SUCCESS: Final = "10000"
SUB_TRADE_NOT_EXIST: Final = "ACQ.TRADE_NOT_EXIST"
SUB_TRADE_HAS_CLOSE: Final = "ACQ.TRADE_HAS_CLOSE"

TRADE_WAIT: Final = "WAIT_BUYER_PAY"
TRADE_SUCCESS: Final = "TRADE_SUCCESS"
TRADE_FINISHED: Final = "TRADE_FINISHED"
TRADE_CLOSED: Final = "TRADE_CLOSED"
PAID_STATUSES: Final = frozenset({TRADE_SUCCESS, TRADE_FINISHED})

MAX_YUAN_DIGITS: Final = 12  # digits before the point of an amount we accept (far above any top-up)
SHOWN_LIMIT: Final = 80  # characters of an untrusted value a log line or error message keeps
REFERENCE_LIMIT: Final = 64  # of a security event's reference (its column's size)
DETAIL_LIMIT: Final = 500  # of a security event's detail

NOTIFY_SUCCESS: Final = "success"
NOTIFY_FAILURE: Final = "failure"

STATE_PENDING: Final = "PENDING"
STATE_PAID: Final = "PAID"
STATE_CLOSED: Final = "CLOSED"
STATE_REFUNDED: Final = "REFUNDED"

CHANNEL_WAP: Final = "wap"
CHANNEL_QR: Final = "qr"

PAYMENT_METHOD: Final = "alipay"
OPERATOR: Final = "alipay"
OPERATOR_ROLE: Final = "system"

CONF_APP_ID: Final = "app_id"
CONF_SELLER_ID: Final = "seller_id"
CONF_PRIVATE_KEY: Final = "private_key"
CONF_PRIVATE_KEY_FILE: Final = "private_key_file"
CONF_ALIPAY_PUBLIC_KEY: Final = "alipay_public_key"
CONF_ALIPAY_PUBLIC_KEY_FILE: Final = "alipay_public_key_file"
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
CONF_SUBJECT: Final = "subject"
CONF_MIN_AMOUNT: Final = "min_amount"
CONF_MAX_AMOUNT: Final = "max_amount"
CONF_KIOSK_IDLE: Final = "kiosk_idle"
CONF_KIOSK: Final = "kiosk"
CONF_TENANTS: Final = "tenants"

DEFAULT_ORDER_TIMEOUT: Final = 15  # minutes
DEFAULT_QUERY_INTERVAL: Final = 60  # seconds
DEFAULT_QUERY_AFTER: Final = 120  # seconds an order waits for its notify before we ask
DEFAULT_SANDBOX_PORT: Final = 9009
DEFAULT_KEYS_DIR: Final = ".alipay_sandbox"
DEFAULT_SUBJECT: Final = "电费充值-{account}"
DEFAULT_MIN_AMOUNT: Final = "1.00"
DEFAULT_MAX_AMOUNT: Final = "5000.00"
LIMIT_MAX_FEN: Final = 0x7FFFFFFF  # a configured limit fits a meter's money register (int32 fen)
DEFAULT_KIOSK_IDLE: Final = 60  # seconds

SANDBOX_APP_ID: Final = "2021000000000000"
SANDBOX_SELLER_ID: Final = "2088000000000000"
APP_PRIVATE_PEM: Final = "app_private.pem"
APP_PUBLIC_PEM: Final = "app_public.pem"
ALIPAY_PRIVATE_PEM: Final = "alipay_private.pem"
ALIPAY_PUBLIC_PEM: Final = "alipay_public.pem"

EVENT_PAYMENT_CREDITED: Final = "alipay_payment_credited"

SEC_BAD_SIGNATURE: Final = "bad_signature"
SEC_UNKNOWN_ORDER: Final = "unknown_order"
SEC_AMOUNT_MISMATCH: Final = "amount_mismatch"
SEC_APP_ID_MISMATCH: Final = "app_id_mismatch"
SEC_SELLER_MISMATCH: Final = "seller_mismatch"
SEC_BAD_STATUS: Final = "bad_status"
SEC_LATE_PAYMENT: Final = "paid_after_close"

# Where the tenant integration (web/tenant, a dependency) leaves the function a provider joins its site with.
TENANT_JOIN: Final = "tenant_join"
