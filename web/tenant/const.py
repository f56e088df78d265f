"""Constants of the tenant pages and the kiosk."""
from __future__ import annotations

from typing import Final

COOKIE_TENANT: Final = "op_tenant"
COOKIE_KIOSK: Final = "op_kiosk"
KIND_MOBILE: Final = "mobile"
KIND_KIOSK: Final = "kiosk"
SESSION_LIFETIME: Final = 7 * 24 * 3600  # seconds a phone stays logged in
CODE_LIFETIME: Final = 300  # seconds a one-time code is valid
CODE_MAX_ATTEMPTS: Final = 5
CODE_RESEND_GAP: Final = 60  # seconds between two codes to one phone
MAX_FAILURES: Final = 10  # wrong passwords per account within FAILURE_WINDOW before it is locked
FAILURE_WINDOW: Final = 900  # seconds
SOURCE_LOGIN: Final = "tenant_login"
SOURCE_ACCESS: Final = "tenant_access"
SEC_BAD_REFERENCE: Final = "bad_reference"  # a return page asked for with a wrong signed order reference
RETURN_REFRESH: Final = 2  # seconds the return page waits before looking at a pending order again
DAILY_DAYS: Final = 30
KIOSK_AMOUNTS: Final = (5000, 10000, 20000, 50000)
PHONE_AMOUNTS: Final = (5000, 10000, 20000)
