"""Constants of the billing domain."""

from __future__ import annotations

from typing import Final

from scada_core.meters import MODE_METER, MODE_SERVER  # noqa: F401 - billing's two modes are what meters declare

DOMAIN: Final = "billing"

EVENT_BILLING_SALE: Final = "billing_sale"
EVENT_BILLING_ALARM: Final = "billing_alarm"
EVENT_BILLING_PAYMENT_RECEIVED: Final = "billing_payment_received"


from scada_core.permissions import ROLE_ADMIN, ROLE_CASHIER, ROLE_SYSTEM  # noqa: E402,F401 - billing's operators

METHODS: Final = ("cash", "alipay", "wechat", "card", "bank")  # the counter's; top-up providers add theirs
METHOD_NAME: Final = r"[a-z][a-z0-9_]{1,31}"  # a method's name is a ledger account: never a ':' in it

# Ledger accounts (debit positive). Payment methods are accounts of their own name.
ACCOUNT_REVENUE_ENERGY: Final = "revenue:energy"
ACCOUNT_REVENUE_FEE: Final = "revenue:fee"
ACCOUNT_OPENING: Final = "equity:opening"
ACCOUNT_ADJUSTMENT: Final = "adjustment:meter"

KIND_SALE: Final = "sale"
KIND_REFUND: Final = "refund"
KIND_REVERSAL: Final = "reversal"
KIND_TRANSFER: Final = "transfer"
KIND_CONSUMPTION: Final = "consumption"
KIND_FEE: Final = "fee"
KIND_OPENING: Final = "opening"
KIND_ADJUSTMENT: Final = "adjustment"
KIND_CLOSE: Final = "close"
# What happens to money found on a meter when it is opened (开户余额): it stays for the new tenant, is written off
# the meter back to where found money is booked, or moves to another open account's wallet.
LEFTOVER_KEEP: Final = "keep"
LEFTOVER_CLEAR: Final = "clear"
LEFTOVER_TRANSFER: Final = "transfer"
LEFTOVER_CHOICES: Final = (LEFTOVER_KEEP, LEFTOVER_CLEAR, LEFTOVER_TRANSFER)
# Transactions a person is handed a receipt for, numbered in one gap-free sequence per building: money paid or
# paid back, money found on a meter at opening (开户) and money moved between a tenant's meters or wallet (转账).
# Money received or paid out prints a receipt (收据); a transfer moves money that had its receipt when it came in.
RECEIPT_KINDS: Final = (KIND_SALE, KIND_REFUND, KIND_REVERSAL, KIND_CLOSE, KIND_OPENING)
# What a tenant calls its purchase history (购电记录): money in and out, not the meters' running consumption.
PURCHASE_KINDS: Final = (*RECEIPT_KINDS, KIND_TRANSFER, KIND_ADJUSTMENT)

# A meter's purchase count (购电次数) is a 16-bit register: the count after 65535 is 0.
PURCHASE_COUNT_MODULUS: Final = 1 << 16

DELIVERY_PENDING: Final = "pending"
DELIVERY_DELIVERED: Final = "delivered"
DELIVERY_CANCELLED: Final = "cancelled"  # never reached a meter that was replaced
OP_SELL: Final = "sell"
OP_REFUND: Final = "refund"

# A meter's own thresholds (None: the building's), stored and recorded with its credit policy.
THRESHOLD_NAMES: Final = ("alarm1_fen", "alarm2_fen", "overload_w")
# A building's business settings (报警1/报警2, 透支, 囤积限值, 过载功率), versioned with an effective time like tariffs.
POLICY_NAMES: Final = ("alarm1_fen", "alarm2_fen", "overdraft_fen", "credit_cap_fen", "overload_w")
OPERATOR_CONFIG: Final = "config"  # who a version seeded from YAML was made by

LEVEL_NORMAL: Final = "normal"
LEVEL_ALARM1: Final = "alarm1"
LEVEL_ALARM2: Final = "alarm2"
LEVEL_ARREARS: Final = "arrears"
LEVEL_OVERLOAD: Final = "overload"
LEVEL_TAMPER: Final = "tamper"
LEVEL_OFFLINE: Final = "offline"
PHASE_ENTER: Final = "enter"
PHASE_LEAVE: Final = "leave"
# A meter enters an offline alarm after it has not answered for this long without a break (seconds).
DEFAULT_OFFLINE_AFTER: Final = 300.0

ENV_CRASH_AT: Final = "OPENPREPAY_CRASH_AT"
CRASH_POINTS: Final = (
    "after_pending_commit",
    "after_meter_write",
    "after_read_back",
    "before_delivered_commit",
)

DEFAULT_RECONCILE_INTERVAL: Final = 180.0
# A meter-side meter's running consumption is mirrored into the ledger at most this often (and at each local
# midnight); a new alarm level, overload or purchase count is mirrored at once. At 10,000 meters read every
# minute, posting every read meant 167 ledger transactions a second.
DEFAULT_CONSUMPTION_INTERVAL: Final = 900.0
DEFAULT_METER_TIMEOUT: Final = (
    30.0  # a sale answers by then; an unconfirmed one stays pending for the reconciler
)
DEFAULT_BUILDING: Final = "default"

# The integration whose policy decides when an arrears trip may happen.
FRIENDLY_CREDIT = "friendly_credit"

# Where a top-up of an account with several meter-side meters goes when the tenant names no meter.
TOPUP_LOWEST: Final = "lowest"  # the meter holding the least money (first by entity id on a tie)
TOPUP_SHARES: Final = "shares"  # split by the account's per-meter percentages
TOPUP_RULES: Final = (TOPUP_LOWEST, TOPUP_SHARES)
METHOD_WALLET: Final = "wallet"  # money already in the account's wallet: moving it to a meter is a transfer
METHOD_LABELS: Final = {
    "cash": {"zh-CN": "现金", "en": "cash"},
    "alipay": {"zh-CN": "支付宝", "en": "Alipay"},
    "wechat": {"zh-CN": "微信支付", "en": "WeChat Pay"},
    "card": {"zh-CN": "刷卡", "en": "card"},
    "bank": {"zh-CN": "银行转账", "en": "bank transfer"},
    METHOD_WALLET: {"zh-CN": "账户钱包", "en": "wallet"},
}

# Load limiting (限电): a meter's load category (用电性质) and the plans that lower the overload limit of chosen
# categories for a window (load_limits.py).
LOAD_CATEGORY_KEY: Final = r"[a-z][a-z0-9_]{0,31}"
LOAD_CATEGORY_NAME_MAX: Final = 64
LOAD_PLAN_NAME_MAX: Final = 128
LOAD_LIMIT_MAX_W: Final = 65535  # the meter's overload power register (PMAX) is 16 bits
LOAD_DURATION_MAX_S: Final = 7 * 24 * 3600
LOAD_RUN_SCHEDULED: Final = "scheduled"
LOAD_RUN_ACTIVE: Final = "active"
LOAD_RUN_ENDED: Final = "ended"
LOAD_METER_LIMITED: Final = "limited"  # the meter holds the plan's limit (read back)
LOAD_METER_PENDING: Final = "pending"  # not reached yet (offline, refused): retried while the run is active
LOAD_METER_EXEMPT_HOLD: Final = "exempt_hold"  # held (保电) by staff or friendly credit: never limited
LOAD_METER_TRIPPED: Final = "tripped"  # a trip plan's meter is off (read back)
LOAD_METER_EXEMPT_OFF: Final = "exempt_off"  # a trip plan's meter was off already (arrears, staff): never closed by it
LOAD_ACTION_LIMIT: Final = "limit"
LOAD_ACTION_TRIP: Final = "trip"
LOAD_ACTIONS: Final = (LOAD_ACTION_LIMIT, LOAD_ACTION_TRIP)
LOAD_RESTORED: Final = "restored"
LOAD_LEFT: Final = "left"  # at the end someone else held the relay (staff, another run): left to them
RELAY_OPEN: Final = "open"  # what a meter publishes as ``relay`` when its supply is off
PREPAID_HOLD: Final = "hold"  # a meter's prepaid_mode when staff hold it (保电)
EVENT_BILLING_LOAD_LIMIT: Final = "billing_load_limit"
