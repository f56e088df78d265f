"""What an administration command opens: the configuration and a core with the migrated database."""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ..bootstrap import open_database
from ..config import Configuration, load_config
from ..const import APP_NAME
from ..core import Core
from ..exceptions import ConfigError, DatabaseUnavailable, OpenPrepayError

Handler = Callable[[argparse.Namespace], Awaitable[int]]


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """Add the -c/--config option every command takes."""
    parser.add_argument("-c", "--config", type=Path, required=True, help="configuration directory")


def run(handler: Handler, args: argparse.Namespace) -> int:
    """Run ``handler(args)``; print any other refusal (an OpenPrepayError) as one line and return 1."""
    try:
        return asyncio.run(handler(args))
    except (ConfigError, DatabaseUnavailable):
        raise  # main explains these
    except OpenPrepayError as err:
        fail(str(err))
        return 1


def fail(message: str) -> None:
    """Print why a command refused, on stderr."""
    print(f"{APP_NAME}: {message}", file=sys.stderr)


@asynccontextmanager
async def async_open_core(config_dir: Path, upgrade: bool = True) -> AsyncIterator[tuple[Configuration, Core]]:
    """Yield the configuration and a core (not started) holding its database, migrated unless not ``upgrade``;
    close it afterwards. The ports are not probed: the command may run beside the server."""
    configuration = load_config(config_dir, probe_ports=False)
    core = Core(configuration.config_dir, configuration.core["time_zone"])
    core.config.language = configuration.core["language"]
    db = open_database(configuration)
    try:
        if upgrade:
            await db.async_upgrade()
        core.db = db
        yield configuration, core
    finally:
        await db.async_close()


def section(configuration: Configuration, domain: str) -> Any:
    """Return an integration's validated section; refuse when the configuration does not set it up."""
    if domain not in configuration.sections:
        raise OpenPrepayError(f"{configuration.config_dir} does not set up {domain!r}")
    return configuration.sections[domain]
