"""Constants of the notify integration."""
from __future__ import annotations

from typing import Final

DOMAIN: Final = "notify"
SERVICE_SMS: Final = "sms"
SERVICE_EMAIL: Final = "email"

CHANNEL_SMS: Final = "sms"
CHANNEL_EMAIL: Final = "email"

STATUS_PENDING: Final = "pending"
STATUS_SENT: Final = "sent"
STATUS_FAILED: Final = "failed"
# An SMS with a part the modem took but never confirmed (+CMGS lost): maybe delivered, so never resent by itself.
STATUS_UNCONFIRMED: Final = "unconfirmed"
UNCONFIRMED_REF: Final = "?"  # in ``refs``, the place of a part without a message reference

ATTR_TARGET: Final = "target"
ATTR_MESSAGE: Final = "message"
ATTR_TEMPLATE: Final = "template"
ATTR_DATA: Final = "data"
ATTR_SUBJECT: Final = "subject"
ATTR_LANGUAGE: Final = "language"
ATTR_ACCOUNT_ID: Final = "account_id"
ATTR_SECRET: Final = "secret"  # a one-time code in the text: sent as is, stored and listed as SECRET_MASK
SECRET_MASK: Final = "******"

CONF_SMS: Final = "sms"
CONF_EMAIL: Final = "email"
CONF_RATE_PER_MINUTE: Final = "rate_per_minute"
CONF_MAX_ATTEMPTS: Final = "max_attempts"
CONF_RETRY_BASE: Final = "retry_base"
CONF_RETRY_MAX: Final = "retry_max"
CONF_EXPIRE_AFTER: Final = "expire_after"
CONF_HOST: Final = "host"
CONF_PORT: Final = "port"
CONF_USERNAME: Final = "username"
CONF_PASSWORD: Final = "password"
CONF_SENDER: Final = "sender"
CONF_SECURITY: Final = "security"
CONF_TIMEOUT: Final = "timeout"
CONF_CA_FILE: Final = "ca_file"

SECURITY_STARTTLS: Final = "starttls"
SECURITY_SSL: Final = "ssl"
SECURITY_NONE: Final = "none"

DEFAULT_SMS_RATE: Final = 20.0
DEFAULT_EMAIL_RATE: Final = 60.0
DEFAULT_MAX_ATTEMPTS: Final = 10
DEFAULT_RETRY_BASE: Final = 30.0
DEFAULT_RETRY_MAX: Final = 3600.0
DEFAULT_SMS_EXPIRE: Final = 86400.0  # a balance warning a day late misleads more than it helps
DEFAULT_EMAIL_EXPIRE: Final = 0.0  # 0 = never
DEFAULT_SMTP_TIMEOUT: Final = 30.0
NOT_READY_PAUSE: Final = 0.2  # after the channel turned out not ready mid-send, before waiting for it again
ERROR_PAUSE: Final = 1.0  # after an unexpected error (database down), before the worker tries again
STOP_GRACE: Final = 10.0  # how long a stopping worker waits for the message in flight
# Sent and failed messages are kept this long (days), then purged; pending ones stay until sent or failed.
CONF_KEEP_DAYS: Final = "keep_days"
DEFAULT_KEEP_DAYS: Final = 90
PURGE_INTERVAL: Final = 86400.0

TEMPLATES_DIR: Final = "templates"
TEMPLATE_SUFFIX: Final = ".txt"
SUBJECT_PREFIXES: Final = ("Subject:", "主题：", "主题:")

EVENT_NOTIFY_SENT: Final = "notify_sent"
EVENT_NOTIFY_FAILED: Final = "notify_failed"

# Hook another part may set: core.data[CONTACTS_HOOK] = callable(account_id) -> {"phone", "email", "name"} (or awaitable).
CONTACTS_HOOK: Final = "notify_contacts"
# Hook another part may set: core.data[CONSENT_HOOK] = callable(account_id, channel) -> bool (or awaitable); False:
# the account's holder declined that channel, and a message to the account on it is left out (never to a number or
# address given directly, such as a login code's).
CONSENT_HOOK: Final = "notify_consent"
