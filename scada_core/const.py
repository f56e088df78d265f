"""Constants shared by the core and every integration."""
from __future__ import annotations

from typing import Final

APP_NAME: Final = "OpenPrepay"
__version__: Final = "0.1.0"

CONFIG_FILE: Final = "configuration.yaml"
SECRETS_FILE: Final = "secrets.yaml"
CUSTOM_INTEGRATIONS_DIR: Final = "custom_integrations"
MANIFEST_FILE: Final = "manifest.yaml"
MIGRATIONS_FOLDER: Final = "migrations"  # an integration's own Alembic revisions, beside its manifest
DEFAULT_DB_FILE: Final = "openprepay.db"
# Scheduled backups (recorder: backup: {every, keep, path}): at least a minute apart; health is degraded once the
# last one is older than BACKUP_STALE_FACTOR times `every`.
BACKUP_MIN_INTERVAL: Final = 60.0
BACKUP_DEFAULT_KEEP: Final = 7
BACKUP_DEFAULT_DIR: Final = "backups"
BACKUP_STALE_FACTOR: Final = 2
BACKUP_RETRY_S: Final = 600.0  # a failed scheduled backup is tried again after this (or `every`, if shorter)
BACKUP_CHECK_S: Final = 60.0  # the schedule looks at the core's clock at least this often (it may be moved)
# Seconds a database write waits for another connection's lock before it fails (recorder: lock_timeout).
DEFAULT_LOCK_TIMEOUT: Final = 10.0
# Connections kept open per database: as many as requests commonly overlap (the overflow beyond it is opened and
# closed per use: a PostgreSQL backend started, a SQLite thread spawned, statements prepared again).
DB_POOL_SIZE: Final = 20
DB_POOL_OVERFLOW: Final = 20
# Limits of a configuration's YAML: nesting levels (counted across includes) and files included in a chain.
MAX_YAML_DEPTH: Final = 32
MAX_INCLUDE_DEPTH: Final = 16

DEFAULT_TIME_ZONE: Final = "Asia/Shanghai"
DEFAULT_LANGUAGE: Final = "zh-CN"
LANGUAGES: Final = ("zh-CN", "en")
DEFAULT_HTTP_HOST: Final = "127.0.0.1"
DEFAULT_HTTP_PORT: Final = 8123
# Prometheus metrics (http: metrics): the path, the prefix of every metric name, and the seconds between two
# measures of the event loop's lag (how late a callback scheduled that far ahead runs).
METRICS_PATH: Final = "/metrics"
METRIC_PREFIX: Final = "openprepay_"
LOOP_LAG_INTERVAL: Final = 1.0
# Logging (openprepay --log-format/--log-file): the formats, a log file's size before it is rotated and how many
# rotated files are kept, and the libraries that log only warnings and errors (weasyprint's per-step progress,
# fontTools' subsetting, every SQL statement or Modbus frame) even with -v.
LOG_FORMATS: Final = ("text", "json")
LOG_MAX_BYTES: Final = 10 * 1024 * 1024
LOG_BACKUPS: Final = 5
QUIET_LOGGERS: Final = ("weasyprint", "fontTools", "PIL", "aiosqlite", "alembic", "pymodbus", "asyncio")

# Sections of configuration.yaml handled by the core itself, not by an integration.
CORE_SECTIONS: Final = ("core", "http", "recorder")

MATCH_ALL: Final = "*"

# The largest integer a database column holds (BIGINT on PostgreSQL, INTEGER on SQLite): ids and amounts above it
# are refused at the edge (params.py), never handed to the driver.
DB_INT_MAX: Final = 2**63 - 1
# The last POSIX second datetime can show (9999-12-31 23:59:59 UTC): a bound for times in queries.
MAX_TIMESTAMP: Final = 253_402_300_799.0

EVENT_CORE_START: Final = "core_start"
EVENT_CORE_STARTED: Final = "core_started"
EVENT_CORE_STOP: Final = "core_stop"
EVENT_STATE_CHANGED: Final = "state_changed"
EVENT_SERVICE_REGISTERED: Final = "service_registered"
EVENT_CALL_SERVICE: Final = "call_service"
EVENT_COMPONENT_LOADED: Final = "component_loaded"
EVENT_METER_READING: Final = "meter_reading"

# Who asks for a service (Context.actor): staff outrank the system (automations, prepaid control), then tenants.
ACTOR_STAFF: Final = "staff"
ACTOR_SYSTEM: Final = "system"
ACTOR_TENANT: Final = "tenant"

STATE_UNAVAILABLE: Final = "unavailable"
STATE_UNKNOWN: Final = "unknown"
MAX_LENGTH_STATE: Final = 255

ATTR_ENTITY_ID: Final = "entity_id"
ATTR_FRIENDLY_NAME: Final = "friendly_name"
ATTR_UNIT: Final = "unit_of_measurement"

STOP_TIMEOUT: Final = 20.0

# status of GET /api/health
HEALTH_OK: Final = "ok"
HEALTH_DEGRADED: Final = "degraded"

# Young-generation threshold of the garbage collector while the core runs (CPython's default is 700). Every
# meter read allocates a few objects that outlive it (its state until the next read); at thousands of
# reads per second the default collects hundreds of times a second and took a tenth of the loop's time.
GC_THRESHOLD_0: Final = 50_000
