"""Constants of the UnionPay (银联全渠道 / ACP 5.1.0) integration; see docs/unionpay.md for their sources."""
from __future__ import annotations

from typing import Final

DOMAIN: Final = "unionpay"
PROVIDER_UNIONPAY: Final = "unionpay"  # the provider column of its orders
UNIONPAY_ORDER_PREFIX: Final = "UP"  # orderId: 8-40 letters and digits, no '-' or '_'
LABELS: Final = {"zh-CN": "银联", "en": "UnionPay"}
SCAN_PROMPTS: Final = {"zh-CN": "请用云闪付或银行App扫码支付", "en": "Scan with UnionPay or a bank app to pay"}
PAYMENT_METHOD: Final = "unionpay"
EVENT_PAYMENT_CREDITED: Final = "unionpay_payment_credited"

GATEWAY_PRODUCTION: Final = "https://gateway.95516.com"
FRONT_TRANS_PATH: Final = "/gateway/api/frontTransReq.do"
BACK_TRANS_PATH: Final = "/gateway/api/backTransReq.do"
QUERY_TRANS_PATH: Final = "/gateway/api/queryTrans.do"
NOTIFY_PATH: Final = "/api/unionpay/notify"  # backUrl
FRONT_PATH: Final = "/api/unionpay/front/{out_trade_no}"  # our page holding the signed form for the phone
RETURN_PATH: Final = "/api/unionpay/return"  # frontUrl: the browser comes back here (POST), sent on to our page

VERSION: Final = "5.1.0"
ENCODING: Final = "UTF-8"
SIGN_METHOD_RSA: Final = "01"  # SHA-256 of the sorted key=value string, signed SHA256withRSA
ACCESS_MERCHANT: Final = "0"
CURRENCY_CNY: Final = "156"
CHANNEL_PC: Final = "07"
CHANNEL_MOBILE: Final = "08"
BIZ_GATEWAY: Final = "000201"  # 网关支付 (front redirect)
BIZ_QR: Final = "000000"  # 二维码 (the kiosk)
TXN_QUERY: Final = "00"
TXN_CONSUME: Final = "01"
TXN_REFUND: Final = "04"
SUB_NONE: Final = "00"
SUB_CONSUME: Final = "01"
SUB_QR_APPLY: Final = "07"  # 申请消费二维码
TIME_FORMAT: Final = "%Y%m%d%H%M%S"
RESP_SUCCESS: Final = "00"
RESP_NOT_FOUND: Final = "34"  # 查无此交易
FIELD_SIGNATURE: Final = "signature"
FIELD_CERT: Final = "signPubKeyCert"
NOTIFY_OK: Final = "ok"  # any HTTP 200 answer is taken; the SDK demos answer "ok"
NOTIFY_FAILURE: Final = "failure"
ORDER_ID_PATTERN: Final = r"^[A-Za-z0-9]{8,40}$"
AMOUNT_PATTERN: Final = r"^[1-9][0-9]{0,11}$"  # txnAmt: integer fen, no point, no sign
UNIONPAY_SIGNER: Final = "中国银联股份有限公司"  # the 3rd '@' part of the signing certificate's CN
MAX_NOTIFY_BYTES: Final = 64 * 1024

CONF_MER_ID: Final = "mer_id"
CONF_SIGN_KEY: Final = "sign_key"
CONF_SIGN_KEY_FILE: Final = "sign_key_file"
CONF_SIGN_CERT_FILE: Final = "sign_cert_file"
CONF_ROOT_CERT_FILE: Final = "root_cert_file"
CONF_MIDDLE_CERT_FILE: Final = "middle_cert_file"
CONF_SIGNER_NAME: Final = "signer_name"
CONF_SUBJECT: Final = "subject"

DEFAULT_SANDBOX_PORT: Final = 9011
DEFAULT_KEYS_DIR: Final = ".unionpay_sandbox"
DEFAULT_SUBJECT: Final = "电费充值-{account}"
SANDBOX_MER_ID: Final = "777290058110048"  # the open platform's test merchant number

# sandbox key files (generated at run time, never committed)
ROOT_PEM: Final = "root.pem"
ROOT_KEY: Final = "root.key"
MIDDLE_PEM: Final = "middle.pem"
MIDDLE_KEY: Final = "middle.key"
SIGNER_PEM: Final = "unionpay_sign.pem"
SIGNER_KEY: Final = "unionpay_sign.key"
MERCHANT_PEM: Final = "merchant_sign.pem"
MERCHANT_KEY: Final = "merchant_sign.key"

SEC_BAD_SIGNATURE: Final = "bad_signature"
SEC_BAD_CERTIFICATE: Final = "bad_certificate"
SEC_UNKNOWN_ORDER: Final = "unknown_order"
SEC_MERCHANT_MISMATCH: Final = "merchant_mismatch"
SEC_BAD_STATUS: Final = "bad_status"
SEC_MALFORMED: Final = "malformed"
