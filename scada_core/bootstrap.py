"""Build a running core from a configuration directory."""
from __future__ import annotations

import logging
from pathlib import Path

from .api import CORE_VIEWS
from .config import Configuration, load_config
from .const import DEFAULT_LOCK_TIMEOUT, LOOP_LAG_INTERVAL
from .core import Core
from .exceptions import ConfigError
from .http import HttpServer
from .http_security import HttpSecurity
from .loader import async_setup_integration
from .loop_lag import LoopLag
from .metrics_http import MetricsView
from .recorder import Recorder
from .recorder_metrics import recorder_source
from .storage.database import Database, resolve_url
from .storage.locations import version_locations

_LOGGER = logging.getLogger(__name__)


def open_database(configuration: Configuration) -> Database:
    """Return the database the configuration names."""
    recorder = configuration.recorder
    return Database(
        resolve_url(configuration.config_dir, recorder.get("db_url")),
        recorder.get("db_schema"),
        recorder.get("lock_timeout", DEFAULT_LOCK_TIMEOUT),
        version_locations(configuration.config_dir),
    )


async def async_setup_core(configuration: Configuration, *, tune_collector: bool = False) -> Core:
    """Create the core, migrate the database, set up every integration and start serving.

    ``tune_collector``: the process runs this core alone, so it may tune the garbage collector (see collector.py).
    """
    core = Core(configuration.config_dir, configuration.core["time_zone"], tune_collector=tune_collector)
    core.config.name = configuration.core["name"]
    core.config.language = configuration.core["language"]
    core.data["configuration"] = configuration

    db = open_database(configuration)
    try:
        await db.async_upgrade()
    except BaseException:
        await db.async_close()
        raise
    core.db = db
    core.async_on_close(db.async_close)
    core.recorder = Recorder(core, db, configuration.recorder)
    core.recorder.async_start()
    core.metrics.register(recorder_source(core.recorder))

    http_conf = configuration.http
    core.http = HttpServer(core, http_conf["host"], http_conf["port"], http_conf.get("external_url"),
                           HttpSecurity(http_conf["secure_cookies"], http_conf["trusted_proxies"]))
    for view_class in CORE_VIEWS:
        core.http.register_view(view_class(core))
    if http_conf["metrics"]:
        core.http.register_view(MetricsView(core, core.http.security))
        lag = LoopLag(LOOP_LAG_INTERVAL)
        core.metrics.register(lag.metrics)
        core.async_create_task(lag.run(), "event loop lag")

    failed = core.config.failed_components
    for domain in configuration.order:
        integration = configuration.integrations[domain]
        missing = [dep for dep in integration.dependencies if dep in failed]
        if missing:
            _LOGGER.error("Not setting up %s: its dependencies %s failed", domain, ", ".join(missing))
            failed[domain] = f"not set up: {', '.join(missing)} failed"
            continue
        await async_setup_integration(core, integration, configuration.sections[domain])

    try:
        await core.http.async_start()
    except ConfigError:
        await core.async_stop()
        raise
    core.async_on_stop(core.http.async_stop)
    await core.async_start()
    return core


async def async_from_config_dir(config_dir: Path | str) -> Core:
    """Load, validate and start everything in ``config_dir``."""
    return await async_setup_core(load_config(config_dir))
