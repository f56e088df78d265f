"""`openprepay operator add|passwd|disable|list`: the web dashboard's operators, without the dashboard."""
from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ..billing.service import configured_buildings
from ..core import Core
from ..exceptions import OpenPrepayError
from ..permissions import ROLE_ADMIN
from .context import add_config_argument, async_open_core, run, section
from .output import print_table

WEB = "web"
BILLING = "billing"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `operator` verb."""
    parser = sub.add_parser("operator", help="add, reset, disable or list the dashboard's operators")
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an operator (the first admin too); prints a one-time password "
                                         "unless one is typed or given on stdin")
    add.add_argument("username")
    add.add_argument("--role", default=ROLE_ADMIN, help="admin, cashier, viewer or a named role (default admin)")
    add.add_argument("--name", default="", help="display name (default: the user name)")
    add.add_argument("--buildings", help="comma-separated building ids the operator is kept to (default: all)")
    passwd = actions.add_parser("passwd", help="set an operator's password; ends its sessions")
    passwd.add_argument("username")
    for action in (add, passwd):
        action.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
        action.add_argument("--no-change", action="store_true",
                            help="a given password need not be changed at first login")
        add_config_argument(action)
    add.set_defaults(handler=lambda args: run(_async_add, args))
    passwd.set_defaults(handler=lambda args: run(_async_passwd, args))
    disable = actions.add_parser("disable", help="deactivate an operator: sessions end, API tokens are revoked")
    disable.add_argument("username")
    listing = actions.add_parser("list", help="list operators")
    for action in (disable, listing):
        add_config_argument(action)
    disable.set_defaults(handler=lambda args: run(_async_disable, args))
    listing.set_defaults(handler=lambda args: run(_async_list, args))


@asynccontextmanager
async def async_open_admin(config_dir: Path) -> AsyncIterator[tuple[Any, Core]]:
    """Yield the web integration's OperatorAdmin (web/admin.py) and the core it works on."""
    async with async_open_core(config_dir) as (configuration, core):
        config = section(configuration, WEB)
        sections = configuration.sections
        buildings = configured_buildings(sections[BILLING]) if BILLING in sections else ()  # as web's setup has them
        admin_module = configuration.integrations[WEB].get_submodule("admin")
        yield await admin_module.OperatorAdmin.async_open(core, config, buildings), core


def read_password(args: argparse.Namespace) -> str | None:
    """Return the password from stdin or typed twice at a terminal; None: make a one-time one."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise OpenPrepayError("no password on stdin")
        return password
    if not sys.stdin.isatty():
        return None
    password = getpass.getpass("Password (empty: make a one-time password): ")
    if password and getpass.getpass("Again: ") != password:
        raise OpenPrepayError("the passwords differ")
    return password or None


def _show_password(username: str, made: str | None) -> None:
    if made is not None:
        print(f"one-time password of {username}: {made}  (a new one is asked for at first login)")


async def _async_add(args: argparse.Namespace) -> int:
    password = read_password(args)
    buildings = [b.strip() for b in args.buildings.split(",") if b.strip()] if args.buildings is not None else None
    async with async_open_admin(args.config) as (admin, _core):
        created, made = await admin.add(args.username, args.role, password, not args.no_change, args.name, buildings)
    print(f"added operator {created['username']} ({created['role']})")
    _show_password(created["username"], made)
    return 0


async def _async_passwd(args: argparse.Namespace) -> int:
    password = read_password(args)
    async with async_open_admin(args.config) as (admin, _core):
        made = await admin.passwd(args.username, password, not args.no_change)
    print(f"password of {args.username} set; its sessions ended")
    _show_password(args.username, made)
    return 0


async def _async_disable(args: argparse.Namespace) -> int:
    async with async_open_admin(args.config) as (admin, _core):
        changed = await admin.disable(args.username)
    print(f"disabled {args.username}" if changed else f"{args.username} was disabled already")
    return 0


async def _async_list(args: argparse.Namespace) -> int:
    async with async_open_admin(args.config) as (admin, _core):
        operators = await admin.operators()
    rows = [
        (o["username"], o["display_name"], o["role"], "active" if o["active"] else "disabled",
         "yes" if o["must_change_password"] else "no", ",".join(o["buildings"]) if o["buildings"] else "all")
        for o in operators
    ]
    print_table(("username", "name", "role", "status", "must change", "buildings"), rows)
    return 0
