"""Constants of the staff web dashboard."""
from __future__ import annotations

from typing import Final

from scada_core.permissions import ROLE_ADMIN, ROLE_CASHIER, ROLE_VIEWER

DOMAIN: Final = "web"

# The fixed roles (their permissions: scada_core.permissions.BUILTIN_ROLES); an admin adds named roles of their own.
ROLES: Final = (ROLE_ADMIN, ROLE_CASHIER, ROLE_VIEWER)
ROLE_NAME: Final = r"[a-z][a-z0-9_]{1,15}"  # a named role's key (web_operators.role holds 16 characters)
ROLE_LABEL_MAX: Final = 64


SESSION_COOKIE: Final = "op_session"
PASSWORD_MIN_LENGTH: Final = 8
# The first operator `web: admin:` creates when there is none (forced to choose a new password at first login);
# without a password configured it gets a one-time one. The demo's web.yaml configures its documented one.
DEFAULT_ADMIN_USERNAME: Final = "admin"
USERNAME_MAX: Final = 64  # web_operators.username
DISPLAY_NAME_MAX: Final = 128  # web_operators.display_name
TOKEN_NAME_MAX: Final = 128  # web_api_tokens.name
DEMO_ADMIN_PASSWORD: Final = "admin123"
# core.data key of the tenant pages' logins (web.tenant_logins.TenantLogins), there when the tenant pages are up.
TENANT_LOGINS: Final = "tenant_logins"
# A tenant password staff generate to read out: no 0/O, 1/l/I to mistake.
GENERATED_PASSWORD_ALPHABET: Final = "23456789abcdefghjkmnpqrstuvwxyz"
GENERATED_PASSWORD_LENGTH: Final = 8
# A one-time operator password (the first admin, `openprepay operator add|passwd`): 31^16, about 2^79.
OPERATOR_PASSWORD_LENGTH: Final = 16
PASSWORD_MAX_LENGTH: Final = 256
# Wrong staff passwords: after login_attempts free tries per (user name, address), each further failure doubles the
# wait, from LOGIN_BACKOFF_BASE up to LOGIN_BACKOFF_MAX seconds; at most LOGIN_THROTTLE_MAX pairs are remembered.
LOGIN_BACKOFF_BASE: Final = 30.0
LOGIN_BACKOFF_MAX: Final = 3600.0
LOGIN_THROTTLE_MAX: Final = 10_000
LANG_COOKIE: Final = "op_lang"
LOGIN_CSRF_COOKIE: Final = "op_login_csrf"
CSRF_FIELD: Final = "csrf"
CSRF_HEADER: Final = "X-CSRF-Token"

# Prefixes the dashboard does not guard (tenant pages and kiosk have their own logins).
FOREIGN_PREFIXES: Final = ("/m/", "/kiosk/")

BATCH_SERVICES: Final = ("trip", "close", "hold", "restore_prepaid", "push_tariff", "push_settings")
GRID_CACHE_S: Final = 1.0
OVERVIEW_CACHE_S: Final = 5.0  # the home page's figures are rebuilt at most this often
OVERVIEW_CACHE_MAX: Final = 64  # overviews kept at once (one per set of buildings operators are kept to)
# The energy report: a longer range is refused (ten years: a slip such as 0026-01-01, not a report); detail lines
# shown on its page (the export has them all); meter-days read per batch of its export.
ENERGY_MAX_DAYS: Final = 3660
ENERGY_SCREEN_LINES: Final = 500
ENERGY_BATCH_DAYS: Final = 5000
TREND_DAYS: Final = 30  # days of sales and energy on the home page's trend
TOP_CONSUMERS: Final = 10
STATUSES: Final = ("opened", "alarm1", "alarm2", "arrears", "not_opened", "offline")  # a meter's colour, in legend order
PAGE_SIZES: Final = (50, 100, 200, 500)  # rows per page of the meter table (200: a 144-meter tower on one page)
REASON_MAX_LENGTH: Final = 500
ROLLUP_INTERVAL_S: Final = 600.0
# What the audit log keeps of each meter and account an API write names, before and after the write.
AUDIT_METER_ATTRIBUTES: Final = ("relay", "prepaid_mode", "remaining_fen", "purchase_count", "online")
AUDIT_ENTITY_KEYS: Final = ("entity_id", "meter_entity_id", "meters", "new_entity_id")
# A field whose name contains one of these is a secret: the audit log keeps "***" instead of its value.
AUDIT_SECRET_WORDS: Final = ("pass", "pwd", "secret", "token", "code", "key", "otp", "cookie", "credential",
                             "authorization", "signature", "private")
# Names that contain such a word but are no secret (request ids, and what a tenant login change did, the audit
# must show).
AUDIT_PUBLIC_FIELDS: Final = frozenset(
    {"idempotency_key", "token_id", "has_password", "password_change", "code_sent"}
)
# An API call's request body and HTTP status: kept in the raw record (the advanced line), not among its changes.
AUDIT_RAW_ONLY: Final = ("request", "status")
AUDIT_PAGE_SIZE: Final = 50
TRANSACTION_PAGE_SIZE: Final = 50  # rows per page of the transaction search
EXPORT_BATCH: Final = 2000  # rows an export reads from the database at a time
BATCH_PAGE_SIZE: Final = 50  # batches per page of the batch history
BATCH_PAGE_LIMIT: Final = 1_000_000  # a page number beyond any history (keeps the offset a database integer)
AUDIT_EXPORT_LIMIT: Final = 20000  # rows an audit export holds at most

# argon2id cost of password hashes (web: password_hash). Defaults are argon2-cffi's (RFC 9106's second
# recommendation: 64 MiB, 3 passes, 4 lanes); the floor is OWASP's Password Storage Cheat Sheet minimum
# (19 MiB, 2 passes), for small servers where 64 MiB per login is too much.
HASH_MEMORY_DEFAULT_KIB: Final = 65536
HASH_MEMORY_MIN_KIB: Final = 19456
HASH_MEMORY_MAX_KIB: Final = 4 * 1024 * 1024
HASH_TIME_DEFAULT: Final = 3
HASH_TIME_MIN: Final = 2
HASH_PARALLELISM_DEFAULT: Final = 4
QUICK_AMOUNTS_YUAN: Final = (50, 100, 200, 500, 1000)  # the counter's one-tap amounts
HISTORY_PAGE_SIZE: Final = 20  # rows per page of a meter's histories
ACCOUNT_HISTORY_PAGE_SIZE: Final = 50  # money movements per page of an account's history
ACCOUNT_HISTORY_DAYS: Final = 90  # the days an account's history shows unless asked for others
LOAD_HISTORY_PAGE_SIZE: Final = 50  # rows per page of the 限电 report
MAX_OPENING_METERS: Final = 50  # meters one opening form may name (一户多表)
