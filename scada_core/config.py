"""Load configuration.yaml, validate every section and explain each mistake with file:line."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import available_timezones

import voluptuous as vol

from .const import (
    BACKUP_DEFAULT_DIR,
    BACKUP_DEFAULT_KEEP,
    BACKUP_MIN_INTERVAL,
    CONFIG_FILE,
    CORE_SECTIONS,
    DEFAULT_HTTP_HOST,
    DEFAULT_HTTP_PORT,
    DEFAULT_LANGUAGE,
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_TIME_ZONE,
    LANGUAGES,
    STOP_TIMEOUT,
)
from .exceptions import ConfigError, DependencyError, IntegrationNotFound
from .http_security import UNAUTHENTICATED_HINT, is_loopback, network_list
from .loader import Integration, discover, resolve_order
from .validation import NON_EMPTY, check_configuration, duration_seconds
from .yaml_loader import NodeDict, describe, find_location, load_yaml, value_at

CORE_SCHEMA = vol.Schema(
    {
        vol.Optional("name", default="OpenPrepay"): NON_EMPTY,
        vol.Optional("time_zone", default=DEFAULT_TIME_ZONE): vol.In(available_timezones()),
        vol.Optional("language", default=DEFAULT_LANGUAGE): vol.In(LANGUAGES),
    }
)


def external_url(value: Any) -> str:
    """Accept the public base URL browsers and payment providers use (http(s)://host[:port], no path, query,
    fragment or user) and return it without a trailing slash."""
    try:
        parts = urlsplit(value)
        valid = (
            parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
            and parts.path in ("", "/") and not ({"?", "#", " "} & set(value)) and parts.username is None
            and value.isprintable()
        )
    except (AttributeError, TypeError, ValueError):  # not a string, a bad port or IPv6 address
        valid = False
    if not valid:
        raise vol.Invalid("must be an absolute http:// or https:// URL with no path, e.g. https://pay.example.com")
    return f"{parts.scheme}://{parts.netloc}"


def _unused_base_url(value: Any) -> Any:
    """Refuse the old base_url key, which nothing reads, naming the one that does."""
    raise vol.Invalid(
        "base_url is not used: set external_url (https://host[:port], no path) for the URLs browsers and "
        "payment providers are sent back to"
    )


HTTP_SCHEMA = vol.Schema(
    {
        vol.Optional("host", default=DEFAULT_HTTP_HOST): str,
        vol.Optional("port", default=DEFAULT_HTTP_PORT): vol.All(int, vol.Range(min=0, max=65535)),
        vol.Optional("base_url"): _unused_base_url,
        vol.Optional("external_url"): external_url,
        vol.Optional("secure_cookies", default=False): bool,
        # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks).
        vol.Optional("trusted_proxies", default=[]): network_list,
        # GET /metrics (Prometheus): this machine without a token, others with an operator's bearer token.
        vol.Optional("metrics", default=True): bool,
    }
)

RECORDER_SCHEMA = vol.Schema(
    {
        vol.Optional("db_url"): str,
        vol.Optional("db_schema"): vol.Match(r"^[a-z_][a-z0-9_]*$"),
        vol.Optional("commit_interval", default=1.0): vol.All(vol.Coerce(float), vol.Range(min=0.01, max=60)),
        vol.Optional("max_batch", default=5000): vol.All(int, vol.Range(min=1)),
        # seconds a write waits for another connection's lock before it fails
        vol.Optional("lock_timeout", default=DEFAULT_LOCK_TIMEOUT): vol.All(
            vol.Coerce(float), vol.Range(min=0.1, max=STOP_TIMEOUT / 2)
        ),
        vol.Optional("purge_keep_days", default=30): vol.All(int, vol.Range(min=1)),
        vol.Optional("readings_keep_days", default=3650): vol.All(int, vol.Range(min=1)),
        vol.Optional("exclude_domains", default=[]): [str],
        # domain -> seconds: a state row at most this often per entity (a change of availability always).
        vol.Optional("min_interval", default={}): {str: vol.All(vol.Coerce(float), vol.Range(min=0))},
        # scheduled backups (see scada_core/storage/backup_schedule.py); none when the key is absent
        vol.Optional("backup"): vol.Schema(
            {
                vol.Required("every"): vol.All(
                    duration_seconds,
                    vol.Range(min=BACKUP_MIN_INTERVAL, msg=f"must be at least {BACKUP_MIN_INTERVAL:.0f} seconds"),
                ),
                vol.Optional("keep", default=BACKUP_DEFAULT_KEEP): vol.All(int, vol.Range(min=1)),
                vol.Optional("path", default=BACKUP_DEFAULT_DIR): NON_EMPTY,
            }
        ),
    }
)

CORE_SECTION_SCHEMAS: dict[str, vol.Schema] = {
    "core": CORE_SCHEMA,
    "http": HTTP_SCHEMA,
    "recorder": RECORDER_SCHEMA,
}


@dataclass
class Configuration:
    """A validated configuration: core sections, and integrations in setup order."""

    config_dir: Path
    core: dict[str, Any]
    http: dict[str, Any]
    recorder: dict[str, Any]
    integrations: dict[str, Integration]
    order: list[str]
    sections: dict[str, Any]
    probed_ports: list[str] = field(default_factory=list)  # host:port checked free by binding it briefly


def _type_name(value: Any) -> str:
    return {"str": "str", "int": "int", "float": "float", "bool": "bool"}.get(type(value).__name__, type(value).__name__)


def format_invalid(raw: Any, error: vol.Invalid, prefix: list[Any] | None = None) -> str:
    """Return one 'file:line: a -> b -> c: message' line for a voluptuous error."""
    path = [*(prefix or []), *error.path]
    message = error.error_message or error.msg
    found, value = value_at(raw, path)
    if message == "extra keys not allowed":
        message = "unknown key"
    elif message == "required key not provided":
        message = "required key is missing"
    elif found and not isinstance(value, (dict, list)) and message.startswith("expected"):
        message = f"{message}, got {value!r}"
    return describe(raw, path, message)


def _errors_of(raw: Any, err: vol.Invalid, prefix: list[Any] | None = None) -> list[str]:
    errors = err.errors if isinstance(err, vol.MultipleInvalid) else [err]
    return sorted({format_invalid(raw, e, prefix) for e in errors})


def _error_sort_key(line: str) -> tuple[str, int, str]:
    file, _, rest = line.partition(":")
    number, _, _ = rest.partition(":")
    return (file, int(number) if number.isdigit() else 0, line)


def validate_section(raw: Any, schema: vol.Schema, key: str, wrap: bool) -> tuple[Any, list[str]]:
    """Validate one section; ``wrap`` means the schema expects {key: section} (HA style)."""
    section = raw.get(key)
    try:
        if wrap:
            return schema({key: section})[key], []
        return schema(section if section is not None else {}), []
    except vol.Invalid as err:
        return None, _errors_of(raw, err, None if wrap else [key])
    except Exception as err:  # noqa: BLE001 - a validator's own bug must still read as a configuration error
        return None, [describe(raw, [key], f"cannot validate this section: {err!r}")]


def load_config(
    config_dir: Path | str, http_override: Mapping[str, Any] | None = None, *, probe_ports: bool = True
) -> Configuration:
    """Read and validate the configuration; raise ConfigError listing every mistake.

    ``http_override`` (the command line's --host/--port) replaces those keys of the validated `http:` section before
    the listening checks, which then apply to it as to the file's values. ``probe_ports=False``: the ports are not
    tried (an administration command beside the running server).
    """
    config_dir = Path(config_dir).resolve()
    path = config_dir / CONFIG_FILE
    if not path.is_file():
        raise ConfigError([f"{CONFIG_FILE} not found in {config_dir}"])
    raw = load_yaml(path, config_dir)
    if raw is None:
        raw = NodeDict()
    if not isinstance(raw, dict):
        raise ConfigError([f"{CONFIG_FILE}:1: the file must hold a mapping of sections"])
    errors: list[str] = []
    core_sections: dict[str, Any] = {}
    for key, schema in CORE_SECTION_SCHEMAS.items():
        value, section_errors = validate_section(raw, schema, key, wrap=False)
        core_sections[key] = value
        errors += section_errors
    available = discover(config_dir)
    wanted: list[str] = []
    for key in raw:
        if key in CORE_SECTIONS:
            continue
        if key not in available:
            location = find_location(raw, [key])
            where = f"{location[0]}:{location[1]}: " if location else ""
            errors.append(f"{where}{key}: unknown integration {key!r}")
            continue
        wanted.append(key)
    order: list[str] = []
    try:
        order = resolve_order(wanted, available)
    except (DependencyError, IntegrationNotFound) as err:
        errors.append(f"{CONFIG_FILE}: {err}")
    sections: dict[str, Any] = {}
    for domain in order:
        integration = available[domain]
        try:
            schema = integration.config_schema
        except Exception as err:  # noqa: BLE001 - a broken custom integration is a config error
            errors.append(f"{integration.path}: cannot import integration {domain!r}: {err}")
            continue
        if domain not in raw:
            try:
                sections[domain] = schema({domain: {}})[domain] if schema is not None else {}
            except vol.Invalid as err:
                errors.append(f"{CONFIG_FILE}: {domain}: needed by another integration but not configured: {err}")
            continue
        if schema is None:
            sections[domain] = raw[domain]
            continue
        value, section_errors = validate_section(raw, schema, domain, wrap=True)
        sections[domain] = value
        errors += section_errors
    http = core_sections["http"]
    if http is not None and http_override:
        http = core_sections["http"] = {**http, **http_override}
    if http is not None and not is_loopback(http["host"]) and not any(available[d].http_auth for d in order):
        location = find_location(raw, ["http", "host"])
        where = f"{location[0]}:{location[1]}: " if location else ""
        errors.append(f"{where}http -> host: {http['host']!r} {UNAUTHENTICATED_HINT}")
    probed: list[str] = []
    if not errors:  # cross-references only mean something once every section has its shape
        errors, probed = check_configuration(
            config_dir, raw, {**core_sections, **sections}, available, order, probe_ports=probe_ports
        )
    if errors:
        raise ConfigError(sorted(errors, key=_error_sort_key))
    return Configuration(
        config_dir=config_dir,
        core=core_sections["core"],
        http=core_sections["http"],
        recorder=core_sections["recorder"],
        integrations=available,
        order=order,
        sections=sections,
        probed_ports=probed,
    )
