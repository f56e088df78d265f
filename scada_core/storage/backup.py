"""Backups consistent while the server writes, what each holds (a JSON file beside it), and restore.

SQLite: the online backup API copies every page in one step under one read transaction (WAL: writers go on),
then the copy leaves WAL mode so it is one self-contained file. PostgreSQL: `pg_dump -Fc` from a snapshot the
backup exports and reads its own metadata in; restore is `pg_restore --clean --if-exists --single-transaction`.
See docs/backup.md for the sources.
"""
from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, make_url

from ..exceptions import OpenPrepayError
from .database import Database, alembic_config

BACKUP_FORMAT = "openprepay-backup-1"
INFO_SUFFIX = ".json"
PARTIAL_SUFFIX = ".partial"
LEDGER_TABLE = "billing_transactions"
VERSION_TABLE = "alembic_version"


class BackupError(OpenPrepayError):
    """A backup or restore that cannot be made, or is refused; the message says why."""


@dataclass(frozen=True)
class BackupInfo:
    """What a backup (or a database) holds: its schema revisions and how far its ledger goes."""

    dialect: str
    schema: str | None
    revisions: list[str]
    transactions: int
    last_transaction_id: int | None
    last_transaction_ts: float | None
    created_ts: float | None = None
    format: str = BACKUP_FORMAT

    def newer_than(self, other: BackupInfo) -> bool:
        """Tell whether this ledger holds transactions ``other`` does not."""
        return (self.last_transaction_id or 0) > (other.last_transaction_id or 0) or (
            self.last_transaction_ts or 0
        ) > (other.last_transaction_ts or 0)


def info_path(path: Path) -> Path:
    """Return the metadata file beside a backup."""
    return path.with_name(path.name + INFO_SUFFIX)


def read_info(path: Path) -> BackupInfo:
    """Return what a backup holds, from the file beside it."""
    try:
        data = json.loads(info_path(path).read_text(encoding="utf-8"))
        if data.get("format") != BACKUP_FORMAT:
            raise ValueError(f"format {data.get('format')!r}")
        return BackupInfo(**data)
    except (OSError, ValueError, TypeError) as err:
        raise BackupError(f"{info_path(path)}: not the description of an OpenPrepay backup ({err})") from None


def database_state(connection: Connection, dialect: str, schema: str | None) -> BackupInfo:
    """Return the revisions and ledger extent of a database (a sync body; empty tables when there are none)."""
    tables = set(inspect(connection).get_table_names(schema=schema))
    revisions = (
        sorted(r for (r,) in connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")))
        if VERSION_TABLE in tables else []
    )
    count, last_id, last_ts = (
        connection.execute(text(f"SELECT count(*), max(id), max(ts) FROM {LEDGER_TABLE}")).one()
        if LEDGER_TABLE in tables else (0, None, None)
    )
    return BackupInfo(dialect, schema, revisions, int(count), last_id, last_ts)


async def async_backup(db: Database, path: Path, now: float) -> BackupInfo:
    """Write a consistent backup of ``db`` to ``path`` (and what it holds beside it) while writers go on (the
    files are handled in a thread: the server's event loop never waits on the disk)."""
    loop = asyncio.get_running_loop()
    partial = path.with_name(path.name + PARTIAL_SUFFIX)
    await loop.run_in_executor(None, _prepare, partial)
    try:
        if db.dialect == "sqlite":
            state = await loop.run_in_executor(None, _sqlite_backup, _sqlite_file(db), partial, db.lock_timeout)
        else:
            state = await _pg_backup(db, partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    info = BackupInfo(**{**asdict(state), "created_ts": now})
    await loop.run_in_executor(None, _publish, partial, path, info)
    return info


def _prepare(partial: Path) -> None:
    """Make the backup's folder and drop a partial copy a failed run left."""
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.unlink(missing_ok=True)


def _publish(partial: Path, path: Path, info: BackupInfo) -> None:
    """Write what the backup holds beside it, then give the finished copy its name."""
    info_path(path).write_text(json.dumps(asdict(info), indent=1), encoding="utf-8")
    partial.replace(path)


async def async_restore(db: Database, path: Path, force: bool = False) -> BackupInfo:
    """Replace ``db``'s content by the backup at ``path``; refuse a database newer than it unless ``force``."""
    info = read_info(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such backup")
    if info.dialect != db.dialect:
        raise BackupError(f"{path} is a {info.dialect} backup; this configuration's database is {db.dialect}")
    if info.dialect == "postgresql" and info.schema != db.schema:
        raise BackupError(f"{path} holds schema {info.schema or 'public'}; this configuration uses "
                          f"{db.schema or 'public'} (pg_restore cannot rename it)")
    _check_known(db, info)
    async with db.engine.connect() as conn:
        current = await conn.run_sync(database_state, db.dialect, db.schema)
    if current.newer_than(info) and not force:
        raise BackupError(
            f"the database holds {current.transactions} ledger transactions (last #{current.last_transaction_id}), "
            f"newer than the backup's {info.transactions} (last #{info.last_transaction_id}); "
            "restore with --force to overwrite it"
        )
    await db.engine.dispose()  # no pooled connection of ours holds the old content
    if db.dialect == "sqlite":
        await asyncio.get_running_loop().run_in_executor(None, _sqlite_restore, path, _sqlite_file(db), db.lock_timeout)
    else:
        await _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                    *_pg_connection(db), str(path)], db)
    return info


def _check_known(db: Database, info: BackupInfo) -> None:
    """Refuse a backup made by a newer version (a schema revision this code does not know)."""
    scripts = ScriptDirectory.from_config(alembic_config(db.versions))
    for revision in info.revisions:
        try:
            scripts.get_revision(revision)
        except CommandError:
            raise BackupError(f"the backup's schema revision {revision} is unknown to this version: "
                              "restore it with the version that made it") from None


def _sqlite_file(db: Database) -> str:
    return str(make_url(db.url).database)


def _sqlite_backup(source: str, target: Path, timeout: float) -> BackupInfo:
    """Copy ``source`` to ``target`` with the online backup API; return what the copy holds."""
    with closing(sqlite3.connect(source, timeout=timeout)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            return database_state(conn, "sqlite", None)
    finally:
        engine.dispose()


def _sqlite_restore(backup: Path, target: str, timeout: float) -> None:
    """Copy the backup over ``target`` page by page, in one transaction of ``target``."""
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as src, \
            closing(sqlite3.connect(target, timeout=timeout)) as dst:
        src.backup(dst)


async def _pg_backup(db: Database, target: Path) -> BackupInfo:
    """pg_dump the database (its schema, when it has one) from a snapshot its metadata is read in too."""
    async with db.snapshot() as conn:
        snapshot = (await conn.exec_driver_sql("SELECT pg_export_snapshot()")).scalar_one()
        state = await conn.run_sync(database_state, db.dialect, db.schema)
        schema = ["--schema", db.schema] if db.schema else []
        await _run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--no-owner", *schema,
                    f"--file={target}", *_pg_connection(db)], db)
    return state


def _pg_connection(db: Database) -> list[str]:
    """Return the libpq options naming the database (the password goes in the environment)."""
    url = make_url(db.url)
    options = [f"--dbname={url.database}"]
    if url.host:
        options.append(f"--host={url.host}")
    if url.port:
        options.append(f"--port={url.port}")
    if url.username:
        options.append(f"--username={url.username}")
    return options


async def _run(argv: list[str], db: Database) -> None:
    """Run a PostgreSQL client program; raise BackupError with its own message when it fails."""
    env: dict[str, Any] = dict(os.environ)
    if (password := make_url(db.url).password) is not None:
        env["PGPASSWORD"] = password
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=env,
        )
    except FileNotFoundError:
        raise BackupError(f"{argv[0]} is not installed (Debian: apt install postgresql-client)") from None
    _out, err = await process.communicate()
    if process.returncode != 0:
        raise BackupError(f"{argv[0]} failed: {err.decode(errors='replace').strip()}")
