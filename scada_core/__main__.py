"""Command line: run, check-config, db, demo, operator, token, simulate."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from .bootstrap import async_setup_core
from .cli import db as db_actions
from .cli import demo as demo_actions
from .cli import operators, tokens
from .config import load_config
from .const import APP_NAME, __version__
from .db_upgrade import async_db_upgrade
from .exceptions import ConfigError, DatabaseUnavailable
from .loader import discover
from .logging_setup import add_logging_arguments, setup_logging
from .systemd import SystemdNotifier
from .welcome import welcome_lines

_LOGGER = logging.getLogger("scada_core")


def _print_config_errors(err: ConfigError) -> int:
    print(f"Invalid configuration ({len(err.errors)} error{'s' if len(err.errors) > 1 else ''}):", file=sys.stderr)
    for line in err.errors:
        print(f"  {line}", file=sys.stderr)
    return 1


def _port(value: str) -> int:
    """Accept a TCP port number for --port."""
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (1-65535)")
    return int(value)


def _http_override(args: argparse.Namespace) -> dict[str, Any]:
    """Return the `http:` keys the command line sets (--host, --port)."""
    return {key: value for key in ("host", "port") if (value := getattr(args, key)) is not None}


async def _async_run(config_dir: Path, http_override: dict[str, Any]) -> int:
    configuration = load_config(config_dir, http_override)
    core = await async_setup_core(configuration, tune_collector=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _LOGGER.info("%s %s running from %s", APP_NAME, __version__, config_dir)
    if core.http is not None:
        for line in welcome_lines(core.http):
            _LOGGER.info(line)
    async with SystemdNotifier():  # READY=1, watchdog pings while running, STOPPING=1
        await stop.wait()
    _LOGGER.info("Stopping")
    await core.async_stop()
    _LOGGER.info("Stopped cleanly")
    return 0


def _simulate(argv: list[str]) -> int:
    simulators = {
        name: (integration, module)
        for integration in discover().values()
        for name, module in integration.simulators.items()
    }
    parser = argparse.ArgumentParser(prog="openprepay simulate")
    sub = parser.add_subparsers(dest="simulator", required=True)
    for name, (integration, module_name) in sorted(simulators.items()):
        module = integration.get_submodule(module_name)
        module.add_arguments(sub.add_parser(name, help=module.__doc__))
    args = parser.parse_args(argv)
    integration, module_name = simulators[args.simulator]
    asyncio.run(_async_simulate(integration.get_submodule(module_name), args))
    return 0


async def _async_simulate(module: Any, args: argparse.Namespace) -> None:
    """Run a simulator until SIGINT or SIGTERM, which cancel it (its cleanup saves its state). The handlers are set
    here: a process started from a shell's background job inherits SIGINT ignored, and asyncio would keep it so."""
    main_task = asyncio.current_task()
    assert main_task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main_task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await module.async_main(args)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the verb."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="openprepay", description=f"{APP_NAME} prepaid metering")
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    add_logging_arguments(parser)
    sub = parser.add_subparsers(dest="verb", required=True)
    for verb, text in (("run", "start everything"), ("check-config", "validate the configuration")):
        p = sub.add_parser(verb, help=text)
        p.add_argument("-c", "--config", type=Path, required=True, help="configuration directory")
        p.add_argument("--host", help="listen on this address instead of http: host (0.0.0.0: every interface)")
        p.add_argument("--port", type=_port, help="listen on this port instead of http: port")
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade", *db_actions.ACTIONS])
    db.add_argument("-c", "--config", type=Path, required=True, help="configuration directory")
    db_actions.add_arguments(db)
    db.add_argument("-y", "--yes", action="store_true", help="upgrade without asking (after taking a backup)")
    demo = sub.add_parser("demo", help="demo data: seed the demo tower with 60 days of shops, sales and readings; "
                                       "reset: drop its database and simulator state, then seed again")
    demo.add_argument("action", choices=list(demo_actions.ACTIONS))
    demo.add_argument("-c", "--config", type=Path, required=True, help="configuration directory (config/demo)")
    operators.register(sub)
    tokens.register(sub)
    sub.add_parser("simulate", help="run a device simulator (simulate NAME --help)", add_help=False)
    if argv[:1] == ["simulate"] or (len(argv) > 1 and argv[0] in ("-v", "--verbose") and argv[1] == "simulate"):
        verbose = argv[0] in ("-v", "--verbose")
        setup_logging(verbose)
        return _simulate(argv[argv.index("simulate") + 1 :])
    args = parser.parse_args(argv)
    setup_logging(args.verbose, args.log_format, args.log_file, args.log_max_bytes, args.log_backups)
    try:
        if (handler := getattr(args, "handler", None)) is not None:
            return int(handler(args))
        if args.verb == "check-config":
            configuration = load_config(args.config, _http_override(args))
            print("configuration valid")
            if configuration.probed_ports:
                print(f"ports free (each bound briefly to check): {', '.join(configuration.probed_ports)}")
            return 0
        if args.verb == "db" and args.action in db_actions.ACTIONS:
            return db_actions.ACTIONS[args.action](args)
        if args.verb == "db":
            return asyncio.run(async_db_upgrade(args.config, args.yes, sys.stdin, sys.stdout, sys.stderr))
        if args.verb == "demo":
            return demo_actions.ACTIONS[args.action](args)
        return asyncio.run(_async_run(args.config, _http_override(args)))
    except ConfigError as err:
        return _print_config_errors(err)
    except DatabaseUnavailable as err:
        print(f"{APP_NAME}: database: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
