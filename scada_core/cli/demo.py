"""`openprepay demo seed|reset`: the demo data of every configured integration that declares a demo seed."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from ..config import Configuration, load_config
from ..const import APP_NAME
from ..exceptions import OpenPrepayError
from ..loader import Integration
from ..storage.database import resolve_url
from .context import run

SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")  # a SQLite database is its file and these beside it


def demo_seeders(configuration: Configuration) -> list[Integration]:
    """Return the configured integrations that declare a demo seed; refuse a configuration with none."""
    seeders = [configuration.integrations[d] for d in configuration.order if configuration.integrations[d].demo_seed]
    if not seeders:
        raise OpenPrepayError(f"nothing in {configuration.config_dir} seeds demo data: not a demo")
    return seeders


async def async_seed(args: argparse.Namespace) -> int:
    """Run each demo seed; print what it did."""
    configuration = load_config(args.config)
    for integration in demo_seeders(configuration):
        print(await integration.get_submodule(str(integration.demo_seed)).async_seed(configuration.config_dir))
    return 0


def demo_files(configuration: Configuration) -> list[Path]:
    """Return what a demo keeps between runs: its own SQLite database and each seeder's state files."""
    url = make_url(resolve_url(configuration.config_dir, configuration.recorder.get("db_url")))
    database = Path(url.database or "")
    if url.get_backend_name() != "sqlite" or not database.resolve().is_relative_to(configuration.config_dir):
        raise OpenPrepayError(f"the database is not a SQLite file in {configuration.config_dir}: "
                              "demo reset only drops a demo's own")
    files = [database.with_name(database.name + suffix) for suffix in SQLITE_COMPANIONS]
    for integration in demo_seeders(configuration):
        files += integration.get_submodule(str(integration.demo_seed)).state_files(configuration)
    return files


async def async_reset(args: argparse.Namespace) -> int:
    """Drop the demo's database and state (the demo stopped: its ports must be free), then seed it again."""
    configuration = load_config(args.config)
    for path in demo_files(configuration):
        if path.exists():
            path.unlink()
            print(f"removed {path}")
    print(f"{APP_NAME}: seeding the demo again")
    return await async_seed(args)


ACTIONS: dict[str, Callable[[argparse.Namespace], int]] = {
    "seed": lambda args: run(async_seed, args),
    "reset": lambda args: run(async_reset, args),
}
