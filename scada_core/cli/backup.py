"""`openprepay db backup PATH` and `openprepay db restore PATH [--force]`."""
from __future__ import annotations

import argparse
from datetime import tzinfo

from ..exceptions import OpenPrepayError
from ..storage.backup import BackupInfo, async_backup, async_restore, info_path
from .context import async_open_core
from .output import local_time


def _path(args: argparse.Namespace) -> None:
    if args.path is None:
        raise OpenPrepayError(f"db {args.action} needs the backup's PATH")


def describe(info: BackupInfo, time_zone: tzinfo) -> str:
    """Return one line on what a backup holds."""
    last = local_time(time_zone, info.last_transaction_ts)
    return (f"{info.dialect} at {', '.join(info.revisions) or 'no schema'}; {info.transactions} ledger transactions, "
            f"the last #{info.last_transaction_id or '-'} at {last}")


async def async_backup_command(args: argparse.Namespace) -> int:
    """Back the database up to PATH while the server may run."""
    _path(args)
    async with async_open_core(args.config) as (_configuration, core):
        assert core.db is not None
        info = await async_backup(core.db, args.path, core.clock.timestamp())
        print(f"backup written to {args.path} (what it holds: {info_path(args.path)})")
        print(describe(info, core.clock.time_zone))
    return 0


async def async_restore_command(args: argparse.Namespace) -> int:
    """Replace the database by the backup at PATH (the server stopped)."""
    _path(args)
    async with async_open_core(args.config, upgrade=False) as (_configuration, core):
        assert core.db is not None
        info = await async_restore(core.db, args.path, args.force)
        print(f"restored {args.path}: {describe(info, core.clock.time_zone)}")
        print("the next start (or `openprepay db upgrade`) brings its schema up to this version")
    return 0
