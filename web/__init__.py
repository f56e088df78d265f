"""Staff web dashboard: operators, meter grid, batch control, accounts and sales, receipts, reports, audit log."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from scada_core.validation import NON_EMPTY

from .const import (
    DEFAULT_ADMIN_USERNAME,
    DEMO_ADMIN_PASSWORD,
    DOMAIN,
    OPERATOR_PASSWORD_LENGTH,
    PASSWORD_MIN_LENGTH,
    ROLLUP_INTERVAL_S,
)
from .passwords import HASHING_SCHEMA, generated_password

if TYPE_CHECKING:
    from scada_core.core import Core
    from scada_core.validation import ConfigContext

_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = vol.Schema(
    {
        DOMAIN: vol.Any(
            None,
            vol.Schema(
                {
                    vol.Optional("branding", default={}): vol.Schema(
                        {vol.Optional("title"): str, vol.Optional("logo"): str, vol.Optional("background"): str}
                    ),
                    vol.Optional("session_hours", default=12): vol.All(vol.Coerce(float), vol.Range(min=0.1, max=720)),
                    vol.Optional("login_attempts", default=5): vol.All(int, vol.Range(min=1, max=100)),
                    vol.Optional("login_window", default=300): vol.All(vol.Coerce(float), vol.Range(min=1)),
                    vol.Optional("password_hash", default={}): HASHING_SCHEMA,
                    vol.Optional("admin", default={}): vol.Schema(
                        {vol.Optional("username", default=DEFAULT_ADMIN_USERNAME): NON_EMPTY,
                         # none: a one-time password, made and logged once when there is no operator yet
                         vol.Optional("password"): vol.All(
                             str, vol.Length(min=PASSWORD_MIN_LENGTH,
                                             msg=f"must have at least {PASSWORD_MIN_LENGTH} characters"))}
                    ),
                    vol.Optional("rollup_interval", default=ROLLUP_INTERVAL_S): vol.All(
                        vol.Coerce(float), vol.Range(min=1)
                    ),
                }
            ),
        )
    },
    extra=vol.ALLOW_EXTRA,
)


def validate_config(context: ConfigContext, config: dict[str, Any] | None) -> None:
    """Refuse a branding image that is not there."""
    for kind in ("logo", "background"):
        name = (config or {}).get("branding", {}).get(kind)
        if name:
            context.require_file([DOMAIN, "branding", kind], name)


def login_hint(admin: dict[str, str], first: bool, made: str | None = None) -> str:
    """Return how staff log in, for the lines logged at start: ``first`` while the configured admin waits for its
    first login (its password is said only when it is the demo's documented one, or ``made`` for it just now)."""
    username = admin["username"]
    if not first:
        return "log in as an operator; an admin adds operators on the operators page"
    if made is not None:
        return f"first login {username} / {made} (a one-time password, said only now), then choose a new password"
    if admin.get("password") == DEMO_ADMIN_PASSWORD:
        return f"first login {username} / {DEMO_ADMIN_PASSWORD}, then choose a new password"
    if admin.get("password") is None:
        return (f"first login {username} with the one-time password logged at the first start "
                f"(lost: openprepay operator passwd {username})")
    return f"first login {username} with the password under web: admin: in the configuration"


async def async_setup(core: Core, config: dict[str, Any] | None) -> bool:
    """Create the operator store, add the auth middleware and register every dashboard view."""
    from .auth import Auth  # noqa: PLC0415 - imported here so `import web.tenant` stays light
    from .directory import MeterDirectory
    from .middleware import make_middleware
    from .site import STATIC, WebSite
    from .views import ALL_VIEWS

    config = CONFIG_SCHEMA({DOMAIN: config or {}})[DOMAIN] or {}
    if core.db is None or core.http is None:
        _LOGGER.error("The web dashboard needs the database and the HTTP server")
        return False
    billing = core.data.get("billing")
    auth = await Auth.async_from_config(core, config, billing.buildings if billing is not None else ())
    admin = config["admin"]
    # No password configured and no operator yet: a one-time password, said once in the lines logged at start.
    configured = admin.get("password")
    made = None if configured or await auth.has_operators() else generated_password(OPERATOR_PASSWORD_LENGTH)
    first = await auth.ensure_seed_admin(admin["username"], configured or made or "")  # "": an operator exists
    branding = {"title": config["branding"].get("title") or core.config.name}
    for kind in ("logo", "background"):
        if config["branding"].get(kind):
            branding[kind] = str(core.config.path(config["branding"][kind]))
    directory = MeterDirectory(core)
    await directory.async_load()
    site = WebSite(core, auth, branding, directory)
    await site.receipt_layouts.async_load()
    core.data[DOMAIN] = site
    core.http.add_auth_middleware(make_middleware(site))
    for view_class in ALL_VIEWS:
        core.http.register_view(view_class(site))
    core.http.app.router.add_static("/static/web/", STATIC)
    core.http.add_entry_point("staff", "/", login_hint(admin, first, made))

    async def rollups() -> None:
        since: float | None = None
        while True:
            try:
                await site.rollup(since)
                since = core.clock.timestamp() - 2 * 86400
            except Exception:  # noqa: BLE001 - a failed rollup is retried next round
                _LOGGER.exception("Energy rollup failed")
            await asyncio.sleep(config["rollup_interval"])

    core.async_create_task(rollups(), "energy rollups")
    return True
