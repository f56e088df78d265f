"""`openprepay db upgrade`: show what the database lacks, ask for a backup first, then migrate it."""
from __future__ import annotations

from pathlib import Path
from typing import TextIO

from .bootstrap import open_database
from .config import load_config
from .const import APP_NAME
from .exceptions import DatabaseUnavailable
from .storage.database import Database
from .storage.pending import Migration, pending_migrations

EXIT_DECLINED = 1
EXIT_NOT_ASKED = 2  # pending migrations, no terminal to ask on and no --yes
QUESTION = f"Take a backup first ({APP_NAME.lower()} db backup PATH). Continue? [y/N] "
YES = ("y", "yes")


async def _current(db: Database) -> set[str]:
    """Return the database's revisions, or raise DatabaseUnavailable naming the cause and the fix."""
    db.check_file()
    try:
        return await db.async_current_revisions()
    except Exception as err:  # noqa: BLE001 - every cause becomes one line with its fix
        if db.caused(err):
            raise DatabaseUnavailable(db.explain(err)) from err
        raise


def _show(current: set[str], pending: list[Migration], out: TextIO) -> None:
    """Print where the database is and each migration it lacks."""
    print(f"database at {', '.join(sorted(current)) if current else 'no revision (empty)'}", file=out)
    if pending:
        print(f"{len(pending)} migration{'s' if len(pending) > 1 else ''} to apply:", file=out)
        for migration in pending:
            print(f"  {migration.revision}  {migration.description}", file=out)


def _confirmed(stdin: TextIO, out: TextIO) -> bool | None:
    """Ask on the terminal whether to go on; None when there is no terminal to ask on."""
    if not stdin.isatty():
        return None
    print(QUESTION, end="", file=out, flush=True)
    return stdin.readline().strip().lower() in YES


async def async_db_upgrade(config_dir: Path, assume_yes: bool, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    """Show the pending migrations, ask (unless ``assume_yes`` or the database is empty) and apply them."""
    db = open_database(load_config(config_dir))
    try:
        current = await _current(db)
        pending = pending_migrations(db.versions, current)
        _show(current, pending, out)
        if not pending:
            await db.async_upgrade()  # nothing to apply: it checks that writes get in
            print("up to date", file=out)
            return 0
        if current and not assume_yes:
            answer = _confirmed(stdin, out)
            if answer is None:
                print(f"{APP_NAME}: not upgraded: no terminal to ask on. Take a backup ({APP_NAME.lower()} db backup "
                      "PATH), then run again with --yes", file=err)
                return EXIT_NOT_ASKED
            if not answer:
                print("not upgraded: nothing changed", file=out)
                return EXIT_DECLINED
        await db.async_upgrade()
        print(f"upgraded: database at {', '.join(sorted(await db.async_current_revisions()))}", file=out)
        return 0
    finally:
        await db.async_close()
