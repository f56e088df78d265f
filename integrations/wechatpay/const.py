"""Constants of the WeChat Pay (API v3, 直连商户) integration."""

from __future__ import annotations

from typing import Final

from integrations.topup.const import (  # noqa: F401 - the options every top-up provider's section shares
    CONF_GATEWAY,
    CONF_HOST,
    CONF_KEYS_DIR,
    CONF_NOTIFY_URL,
    CONF_PORT,
    CONF_RETURN_URL,
    CONF_SANDBOX,
)

DOMAIN: Final = "wechatpay"
LABEL: Final = "WeChat Pay"
LABELS: Final = {"zh-CN": "微信支付", "en": "WeChat Pay"}  # its name on the tenant pages
SCAN_PROMPTS: Final = {"zh-CN": "请用微信扫码支付", "en": "Scan with WeChat to pay"}  # beside the kiosk's QR code

GATEWAY_PRODUCTION: Final = "https://api.mch.weixin.qq.com"
PATH_NATIVE: Final = "/v3/pay/transactions/native"
PATH_H5: Final = "/v3/pay/transactions/h5"
PATH_BY_OUT_TRADE_NO: Final = "/v3/pay/transactions/out-trade-no/{out_trade_no}"
PATH_CLOSE: Final = "/v3/pay/transactions/out-trade-no/{out_trade_no}/close"
PATH_REFUND: Final = "/v3/refund/domestic/refunds"
PATH_CERTIFICATES: Final = "/v3/certificates"
NOTIFY_PATH: Final = "/api/wechatpay/notify"

AUTH_SCHEME: Final = "WECHATPAY2-SHA256-RSA2048"
HEADER_TIMESTAMP: Final = "Wechatpay-Timestamp"
HEADER_NONCE: Final = "Wechatpay-Nonce"
HEADER_SIGNATURE: Final = "Wechatpay-Signature"
HEADER_SERIAL: Final = "Wechatpay-Serial"
HEADER_SIGNATURE_TYPE: Final = "Wechatpay-Signature-Type"
SIGNATURE_TYPE: Final = "WECHATPAY2-SHA256-RSA2048"
SIGNTEST_PREFIX: Final = "WECHATPAY/SIGNTEST/"
MAX_CLOCK_SKEW: Final = 300  # seconds: older (or newer) signed messages are refused as replays
CHARSET: Final = "utf-8"
APIV3_KEY_BYTES: Final = 32
GCM_TAG_BYTES: Final = 16
NONCE_CHARS: Final = 32

CURRENCY: Final = "CNY"
H5_TYPE: Final = "Wap"
ALGORITHM_AES_GCM: Final = "AEAD_AES_256_GCM"
RESOURCE_TYPE: Final = "encrypt-resource"
ORIGINAL_TYPE: Final = "transaction"
EVENT_TRANSACTION_SUCCESS: Final = "TRANSACTION.SUCCESS"

TRADE_SUCCESS: Final = "SUCCESS"
TRADE_REFUND: Final = "REFUND"
TRADE_NOTPAY: Final = "NOTPAY"
TRADE_CLOSED: Final = "CLOSED"
TRADE_REVOKED: Final = "REVOKED"
TRADE_USERPAYING: Final = "USERPAYING"
TRADE_PAYERROR: Final = "PAYERROR"
DEAD_STATES: Final = frozenset({TRADE_CLOSED, TRADE_REVOKED, TRADE_PAYERROR})
REFUND_ACCEPTED: Final = frozenset({"SUCCESS", "PROCESSING"})

CODE_ORDER_NOT_EXIST: Final = "ORDER_NOT_EXIST"
CODE_ORDER_PAID: Final = "ORDERPAID"
CODE_SIGN_ERROR: Final = "SIGN_ERROR"
CODE_PARAM_ERROR: Final = "PARAM_ERROR"
CODE_FAIL: Final = "FAIL"

PROVIDER: Final = "wechatpay"  # the provider column of its orders
ORDER_PREFIX: Final = "TW"
PAYMENT_METHOD: Final = "wechat"
REFUND_REASON: Final = "微信支付退款"
EVENT_PAYMENT_CREDITED: Final = "wechatpay_payment_credited"
SOURCE: Final = "wechatpay"
SOURCE_NOTIFY: Final = "wechatpay_notify"

CONF_MCHID: Final = "mchid"
CONF_APPID: Final = "appid"
CONF_SERIAL_NO: Final = "serial_no"
CONF_PRIVATE_KEY: Final = "private_key"
CONF_PRIVATE_KEY_FILE: Final = "private_key_file"
CONF_APIV3_KEY: Final = "apiv3_key"
CONF_PUBLIC_KEY: Final = "wechatpay_public_key"
CONF_PUBLIC_KEY_FILE: Final = "wechatpay_public_key_file"
CONF_PUBLIC_KEY_ID: Final = "wechatpay_public_key_id"
CONF_PLATFORM_CERTIFICATES: Final = "platform_certificates"
CONF_DESCRIPTION: Final = "description"
PLATFORM_CERTIFICATES_AUTO: Final = "auto"  # download /v3/certificates at start and every 12 hours

CERT_REFRESH_INTERVAL: Final = 12 * 3600  # seconds between scheduled downloads of the platform certificates
CERT_RETRY_INTERVAL: Final = 300  # seconds before trying again after a failed download
CERT_FORCED_REFRESH_INTERVAL: Final = 60  # at most one download per minute for an unknown Wechatpay-Serial
CERT_ASSOCIATED_DATA: Final = "certificate"
CERT_SUBJECT: Final = "/C=CN/O=Tenpay.com/CN=Tenpay.com sign (sandbox)"
CERT_DAYS: Final = 1825  # the sandbox certificates' validity, like WeChat Pay's five years
CODE_RESOURCE_NOT_EXISTS: Final = "RESOURCE_NOT_EXISTS"

DEFAULT_DESCRIPTION: Final = "电费充值-{account}"
DEFAULT_SANDBOX_PORT: Final = 9010
DEFAULT_KEYS_DIR: Final = ".wechatpay_sandbox"
MAX_DESCRIPTION: Final = 127

SANDBOX_MCHID: Final = "1900000109"
SANDBOX_APPID: Final = "wxd678efh567hg6787"
SANDBOX_SERIAL_NO: Final = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
SANDBOX_PUBLIC_KEY_ID: Final = "PUB_KEY_ID_0119000001092025112600000000000001"
MERCHANT_PRIVATE_PEM: Final = "apiclient_key.pem"
MERCHANT_PUBLIC_PEM: Final = "apiclient_public.pem"
WECHATPAY_PRIVATE_PEM: Final = "wechatpay_private.pem"
WECHATPAY_PUBLIC_PEM: Final = "pub_key.pem"
APIV3_KEY_FILE: Final = "apiv3.key"
WECHATPAY_CERT_PEM: Final = "wechatpay_cert.pem"  # self-signed platform certificate of wechatpay_private.pem
WECHATPAY_CERT_SERIAL: Final = "wechatpay_cert.serial"

SEC_SIGNTEST: Final = "signtest_probe"
SEC_BAD_SIGNATURE: Final = "bad_signature"
SEC_STALE: Final = "stale_timestamp"
SEC_UNKNOWN_SERIAL: Final = "unknown_serial"
SEC_MALFORMED: Final = "malformed"
SEC_BAD_CIPHERTEXT: Final = "bad_ciphertext"
SEC_MCHID_MISMATCH: Final = "mchid_mismatch"
SEC_APPID_MISMATCH: Final = "app_id_mismatch"
SEC_UNKNOWN_ORDER: Final = "unknown_order"
SEC_AMOUNT_MISMATCH: Final = "amount_mismatch"
SEC_BAD_STATUS: Final = "bad_status"
