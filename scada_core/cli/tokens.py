"""`openprepay token create|revoke|list`: bearer API tokens of operators, for scripts and other systems."""
from __future__ import annotations

import argparse

from ..params import parse_id
from .context import add_config_argument, run
from .operators import async_open_admin
from .output import local_time, print_table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `token` verb."""
    parser = sub.add_parser("token", help="create, revoke or list API tokens")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a token for an operator; it is printed once")
    create.add_argument("username", help="the operator the token acts as")
    create.add_argument("--name", default="api", help="what the token is for (default: api)")
    create.set_defaults(handler=lambda args: run(_async_create, args))
    revoke = actions.add_parser("revoke", help="revoke a token by its id (see token list)")
    revoke.add_argument("token_id", type=_token_id)
    revoke.set_defaults(handler=lambda args: run(_async_revoke, args))
    listing = actions.add_parser("list", help="list tokens: id, name, owner, created, last used (never the secret)")
    listing.set_defaults(handler=lambda args: run(_async_list, args))
    for action in (create, revoke, listing):
        add_config_argument(action)


def _token_id(text: str) -> int:
    """Accept a token id as the database holds one (digits, at most its largest integer)."""
    if (value := parse_id(text)) is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a token id (see token list)")
    return value


async def _async_create(args: argparse.Namespace) -> int:
    async with async_open_admin(args.config) as (admin, _core):
        token_id, token = await admin.create_token(args.username, args.name)
    print(f"token {token_id} for {args.username} (shown once; send it as 'Authorization: Bearer <token>'):")
    print(token)
    return 0


async def _async_revoke(args: argparse.Namespace) -> int:
    async with async_open_admin(args.config) as (admin, _core):
        await admin.revoke_token(args.token_id)
    print(f"revoked token {args.token_id}")
    return 0


async def _async_list(args: argparse.Namespace) -> int:
    async with async_open_admin(args.config) as (admin, core):
        tokens = await admin.tokens()
        zone = core.clock.time_zone
        rows = [
            (str(t["id"]), t["name"], t["username"], local_time(zone, t["created_ts"]),
             local_time(zone, t["last_used_ts"]),
             "revoked " + local_time(zone, t["revoked_ts"]) if t["revoked_ts"] else "live")
            for t in tokens
        ]
    print_table(("id", "name", "owner", "created", "last used", "status"), rows)
    return 0
