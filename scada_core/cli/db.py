"""The `db` verb's actions besides `upgrade`: backup, restore and check."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .backup import async_backup_command, async_restore_command
from .context import run
from .ledger_check import async_check

ACTIONS: dict[str, Callable[[argparse.Namespace], int]] = {
    "backup": lambda args: run(async_backup_command, args),
    "restore": lambda args: run(async_restore_command, args),
    "check": lambda args: run(async_check, args),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of these actions to the `db` parser."""
    parser.add_argument("path", nargs="?", type=Path, help="backup/restore: the backup file")
    parser.add_argument("--force", action="store_true", help="restore: overwrite a database newer than the backup")
