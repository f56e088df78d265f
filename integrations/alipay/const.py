"""Constants of the Alipay integration."""
from __future__ import annotations

from typing import Final

DOMAIN: Final = "alipay"
PROVIDER_ALIPAY: Final = "alipay"  # the provider column of its orders
ALIPAY_ORDER_PREFIX: Final = "TU"
LABELS: Final = {"zh-CN": "支付宝", "en": "Alipay"}  # its name on the tenant pages
SCAN_PROMPTS: Final = {"zh-CN": "请用支付宝扫码支付", "en": "Scan with Alipay to pay"}  # beside the kiosk's QR code

GATEWAY_PRODUCTION: Final = "https://openapi.alipay.com/gateway.do"
GATEWAY_PATH: Final = "/gateway.do"
NOTIFY_PATH: Final = "/api/alipay/notify"

SIGN_TYPE: Final = "RSA2"
VERSION: Final = "1.0"
FORMAT: Final = "JSON"
TIMESTAMP_FORMAT: Final = "%Y-%m-%d %H:%M:%S"

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

NOTIFY_SUCCESS: Final = "success"
NOTIFY_FAILURE: Final = "failure"

PAYMENT_METHOD: Final = "alipay"
OPERATOR: Final = "alipay"

CONF_APP_ID: Final = "app_id"
CONF_SELLER_ID: Final = "seller_id"
CONF_PRIVATE_KEY: Final = "private_key"
CONF_PRIVATE_KEY_FILE: Final = "private_key_file"
CONF_ALIPAY_PUBLIC_KEY: Final = "alipay_public_key"
CONF_ALIPAY_PUBLIC_KEY_FILE: Final = "alipay_public_key_file"
CONF_SUBJECT: Final = "subject"

DEFAULT_SANDBOX_PORT: Final = 9009
DEFAULT_KEYS_DIR: Final = ".alipay_sandbox"
DEFAULT_SUBJECT: Final = "电费充值-{account}"

SANDBOX_APP_ID: Final = "2021000000000000"
SANDBOX_SELLER_ID: Final = "2088000000000000"
APP_PRIVATE_PEM: Final = "app_private.pem"
APP_PUBLIC_PEM: Final = "app_public.pem"
ALIPAY_PRIVATE_PEM: Final = "alipay_private.pem"
ALIPAY_PUBLIC_PEM: Final = "alipay_public.pem"

EVENT_PAYMENT_CREDITED: Final = "alipay_payment_credited"

SEC_BAD_SIGNATURE: Final = "bad_signature"
SEC_UNKNOWN_ORDER: Final = "unknown_order"
SEC_APP_ID_MISMATCH: Final = "app_id_mismatch"
SEC_SELLER_MISMATCH: Final = "seller_mismatch"
SEC_BAD_STATUS: Final = "bad_status"

