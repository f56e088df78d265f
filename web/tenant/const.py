"""Constants of the tenant pages and the kiosk."""
from __future__ import annotations

from typing import Final

DOMAIN: Final = "tenant"
COOKIE_TENANT: Final = "op_tenant"
COOKIE_KIOSK: Final = "op_kiosk"
COOKIE_CSRF: Final = "op_tenant_csrf"
COOKIE_KIOSK_DEVICE: Final = "op_kiosk_device"
COOKIE_LANGUAGE: Final = "op_tenant_lang"
LANGUAGES: Final = ("zh-CN", "en")
LANGUAGE_COOKIE_AGE: Final = 365 * 24 * 3600
KIOSK_PREFIX: Final = "/kiosk/"
TENANT_PREFIXES: Final = ("/m/", KIOSK_PREFIX)
HEADER_KIOSK_KEY: Final = "X-Kiosk-Key"
QUERY_DEVICE_KEY: Final = "device_key"
KIND_MOBILE: Final = "mobile"
KIND_KIOSK: Final = "kiosk"
KIND_KIOSK_CHECK: Final = "kcheck"  # a shop found at the kiosk, not yet checked
SESSION_LIFETIME: Final = 7 * 24 * 3600  # seconds a phone stays logged in
CODE_LIFETIME: Final = 300  # seconds a one-time code is valid
CODE_MAX_ATTEMPTS: Final = 5
CODE_RESEND_GAP: Final = 60  # seconds between two codes to one phone
CODE_DAY_SENDS: Final = 5  # codes one phone may be sent per local day (the site's time zone)
CODE_DAY_WRONG: Final = 10  # wrong codes one phone may be tried with per local day, over all its codes
PHONE_PATTERN: Final = r"^\+?[0-9]{5,20}$"
TENANT_PASSWORD_MIN: Final = 6  # characters of a tenant's password (set by staff or set_tenant_login)
TENANT_PASSWORD_MAX: Final = 128
MAX_FAILURES: Final = 10  # wrong passwords per account within FAILURE_WINDOW before it is locked
FAILURE_WINDOW: Final = 900  # seconds
SOURCE_LOGIN: Final = "tenant_login"
KIND_BAD_CODE: Final = "bad_code"
SOURCE_ACCESS: Final = "tenant_access"
SEC_BAD_REFERENCE: Final = "bad_reference"  # a return page asked for with a wrong signed order reference
RETURN_REFRESH: Final = 2  # seconds the return page waits before looking at a pending order again
DAILY_DAYS: Final = 30
HOURS_A_DAY: Final = 24
KIOSK_AMOUNTS: Final = (5000, 10000, 20000, 50000)
PHONE_AMOUNTS: Final = (5000, 10000, 20000)
HISTORY_PAGE: Final = 20  # purchases per page of the phone's history
MAX_HISTORY_PAGES: Final = 10_000
