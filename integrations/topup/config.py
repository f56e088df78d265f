"""The options every top-up provider's section has (URLs, order life, sweeps, limits, sandbox, kiosk, tenants)
and the checks on them."""
from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from scada_core.validation import NON_EMPTY

from .const import (
    CONF_GATEWAY,
    CONF_HOST,
    CONF_KEYS_DIR,
    CONF_KIOSK,
    CONF_KIOSK_IDLE,
    CONF_MAX_AMOUNT,
    CONF_MIN_AMOUNT,
    CONF_NOTIFY_URL,
    CONF_ORDER_TIMEOUT,
    CONF_PORT,
    CONF_QUERY_AFTER,
    CONF_QUERY_INTERVAL,
    CONF_RETURN_URL,
    CONF_SANDBOX,
    CONF_TENANTS,
    DEFAULT_KIOSK_IDLE,
    DEFAULT_MAX_AMOUNT,
    DEFAULT_MIN_AMOUNT,
    DEFAULT_ORDER_TIMEOUT,
    DEFAULT_QUERY_AFTER,
    DEFAULT_QUERY_INTERVAL,
)
from .limits import amount_validator

if TYPE_CHECKING:
    from scada_core.validation import ConfigContext


def sandbox_schema(default_port: int, default_keys_dir: str) -> vol.Schema:
    """Return the schema of a provider's `sandbox:` block (where it listens, its keys, how it notifies)."""
    return vol.Schema(
        {
            vol.Optional(CONF_HOST, default="127.0.0.1"): str,
            vol.Optional(CONF_PORT, default=default_port): vol.All(int, vol.Range(min=0, max=65535)),
            vol.Optional(CONF_KEYS_DIR, default=default_keys_dir): str,
            vol.Optional("notify_repeat", default=1): vol.All(int, vol.Range(min=1, max=10)),
            vol.Optional("notify_delay", default=0.0): vol.All(vol.Coerce(float), vol.Range(min=0)),
            vol.Optional("lose_notify", default=False): bool,
        }
    )


TENANT_SCHEMA = vol.Schema(
    {
        vol.Required("meter"): vol.Match(r"^[a-z0-9_]+\.[a-z0-9_]+$"),
        vol.Required("name"): NON_EMPTY,
        vol.Required("password"): vol.All(str, vol.Length(min=6)),
        vol.Optional("phone"): vol.All(vol.Coerce(str), vol.Match(r"^\+?[0-9]{5,20}$")),
        vol.Optional("tenant_control", default=False): bool,
    }
)


def ip_network(value: Any) -> str:
    """Accept an IP address or network (``10.0.5.20``, ``10.0.6.0/24``)."""
    try:
        return str(ipaddress.ip_network(str(value), strict=False))
    except ValueError:
        raise vol.Invalid(f"{value!r} is no IP address or network") from None


KIOSK_SCHEMA = vol.Schema(
    {
        vol.Optional("devices", default=[]): [ip_network],
        vol.Optional("device_key"): vol.All(str, vol.Length(min=16, msg="device_key needs at least 16 characters")),
    }
)


def sandbox_validator(schema: vol.Schema) -> Any:
    """Return a validator accepting `sandbox: true/false` or a mapping of ``schema``'s options."""

    def validate(value: Any) -> dict[str, Any] | None:
        if value is False or value is None:
            return None
        return schema({} if value is True else value)  # type: ignore[no-any-return]

    return validate


def declare_topup(context: ConfigContext, domain: str, config: dict[str, Any]) -> None:
    """Declare the port a provider's sandbox listens on."""
    sandbox = config[CONF_SANDBOX]
    if sandbox is not None:
        context.listen(sandbox[CONF_HOST], sandbox[CONF_PORT], [domain, CONF_SANDBOX, CONF_PORT])


def validate_topup(
    context: ConfigContext, domain: str, config: dict[str, Any], key_files: tuple[str, ...]
) -> bool:
    """Refuse a tenant on a meter no section declares, and a key file that is not there.

    Return whether the merchant's keys are there to be loaded (the sandbox makes its own).
    """
    for index, tenant in enumerate(config[CONF_TENANTS]):
        if tenant["meter"] not in context.entities:
            context.error(
                [domain, CONF_TENANTS, index, "meter"], f"no meter {tenant['meter']} in the configuration"
            )
    present = True
    for key in key_files:
        if config.get(key) and not context.path(config[key]).is_file():
            context.require_file([domain, key], config[key])
            present = False
    return present and config[CONF_SANDBOX] is None


def topup_options(sandbox_port: int, sandbox_keys_dir: str, subject_key: str, subject: str) -> dict[Any, Any]:
    """Return the options every top-up provider's section has: URLs, order life, sweeps, limits, sandbox, tenants."""
    return {
        vol.Optional(CONF_GATEWAY): vol.Url(),
        vol.Optional(CONF_NOTIFY_URL): vol.Url(),
        vol.Optional(CONF_RETURN_URL): vol.Url(),
        vol.Optional(CONF_ORDER_TIMEOUT, default=DEFAULT_ORDER_TIMEOUT): vol.All(int, vol.Range(min=1, max=1440)),
        vol.Optional(CONF_QUERY_INTERVAL, default=DEFAULT_QUERY_INTERVAL): vol.All(
            vol.Coerce(float), vol.Range(min=0.1)
        ),
        vol.Optional(CONF_QUERY_AFTER, default=DEFAULT_QUERY_AFTER): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional(subject_key, default=subject): str,
        vol.Optional(CONF_MIN_AMOUNT, default=DEFAULT_MIN_AMOUNT): amount_validator,
        vol.Optional(CONF_MAX_AMOUNT, default=DEFAULT_MAX_AMOUNT): amount_validator,
        vol.Optional(CONF_KIOSK_IDLE, default=DEFAULT_KIOSK_IDLE): vol.All(int, vol.Range(min=10)),
        vol.Optional(CONF_KIOSK, default={}): KIOSK_SCHEMA,
        vol.Optional(CONF_SANDBOX, default=None): sandbox_validator(sandbox_schema(sandbox_port, sandbox_keys_dir)),
        vol.Optional(CONF_TENANTS, default=[]): [TENANT_SCHEMA],
    }


def key_text(
    config_path: Callable[[str], Path],
    conf: dict[str, Any],
    text_key: str,
    file_key: str,
    fallback: Path | None,
) -> str:
    """Return a key's text: given inline (e.g. `!secret`), from its file, or from the sandbox keys dir (blocking)."""
    if conf.get(text_key):
        return str(conf[text_key])
    path = Path(conf[file_key]) if conf.get(file_key) else fallback
    assert path is not None
    return (path if path.is_absolute() else config_path(str(path))).read_text()
