"""Check a database URL and turn a database failure into one line naming its cause and its fix."""

from __future__ import annotations

import errno
import os
import re
import socket
from pathlib import Path

from alembic.util.exc import CommandError
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..exceptions import DatabaseUnavailable

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRESQL_DRIVER = "postgresql+asyncpg"
URL_FORMS = "sqlite:///PATH or postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
FIX_URL = "recorder: db_url (or DATABASE_URL)"

# SQLSTATE codes of PostgreSQL that have a fix of their own.
PG_UNKNOWN_DATABASE = "3D000"
PG_BAD_USER = "28000"
PG_BAD_PASSWORD = "28P01"
PG_NO_PERMISSION = "42501"
PG_LOCK_NOT_AVAILABLE = "55P03"
PG_STARTING = "57P03"

_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


def _masked(url: str) -> str:
    """Return ``url`` as the user wrote it (no async driver), any password replaced by ***."""
    for driver in (SQLITE_DRIVER, POSTGRESQL_DRIVER):
        url = url.replace(f"{driver}://", f"{driver.split('+')[0]}://", 1)
    return _PASSWORD.sub(r"\1***@", url)


def check_url(url: str) -> URL:
    """Parse an async database URL; raise DatabaseUnavailable unless it names a SQLite file or PostgreSQL."""
    try:
        parsed = make_url(url)
        _ = parsed.port  # a non-numeric port fails here or in make_url
    except (ArgumentError, ValueError) as err:
        raise DatabaseUnavailable(
            f"db_url {_masked(url)!r} is not a database URL ({err}); write {URL_FORMS} in {FIX_URL}"
        ) from None
    if parsed.drivername.startswith("sqlite"):
        if parsed.drivername != SQLITE_DRIVER or not parsed.database or parsed.database == ":memory:":
            raise DatabaseUnavailable(
                f"db_url {_masked(url)!r} names no database file; write sqlite:///relative/path.db or "
                f"sqlite:////absolute/path.db in {FIX_URL}"
            )
    elif parsed.drivername == POSTGRESQL_DRIVER:
        if not parsed.database:
            raise DatabaseUnavailable(
                f"db_url {_masked(url)!r} names no PostgreSQL database; write {URL_FORMS} in {FIX_URL}"
            )
    else:
        raise DatabaseUnavailable(
            f"db_url {_masked(url)!r} is not supported: OpenPrepay stores in SQLite or PostgreSQL; "
            f"write {URL_FORMS} in {FIX_URL}"
        )
    return parsed


def _chain(err: BaseException) -> list[BaseException]:
    """Return ``err`` and every exception it was raised from, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in seen:
        seen.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return seen


def explain(err: BaseException, url: URL, lock_timeout: float) -> str:
    """Return one line: what went wrong with the database at ``url`` and how to fix it."""
    chain = _chain(err)
    for item in chain:
        if isinstance(item, CommandError) and "Can't locate revision" in str(item):
            return (
                f"the database {url.render_as_string(hide_password=True)} was written by a newer OpenPrepay "
                f"({item}); run that version, or restore a backup made by this one"
            )
    if url.get_backend_name() == "sqlite":
        return _explain_sqlite(chain, Path(url.database or ""), lock_timeout)
    return _explain_postgresql(chain, url, lock_timeout)


def _explain_sqlite(chain: list[BaseException], path: Path, lock_timeout: float) -> str:
    text = str(chain[-1]).splitlines()[0] if str(chain[-1]) else type(chain[-1]).__name__
    what = f"SQLite database {path}"
    if "database is locked" in text:
        return (
            f"the {what} is locked by another process (waited {lock_timeout:g} s): stop the other program "
            f"that uses it, or raise recorder: lock_timeout"
        )
    if "file is not a database" in text:
        return (
            f"{path} is not a SQLite database (the file holds something else): move it away, "
            f"or point {FIX_URL} at another file"
        )
    if "malformed" in text:
        return f"the {what} is damaged ({text}): restore it from a backup"
    if "readonly" in text:
        return f"the {what} cannot be written by this user (permission denied): fix its owner or mode"
    return sqlite_path_problem(path) or f"cannot use the {what}: {text}"


def sqlite_path_problem(path: Path) -> str | None:
    """Return why SQLite cannot open or create the file ``path``, when the file system tells (else None)."""
    if path.is_dir():
        return f"{path} is a folder, not a database file: rename it, or point {FIX_URL} at a file"
    if not path.parent.is_dir():
        return (
            f"the folder {path.parent} of the SQLite database {path} does not exist: "
            f"create it, or fix {FIX_URL}"
        )
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        return (
            f"the SQLite database {path} cannot be written by this user (permission denied): "
            f"fix its owner or mode"
        )
    return None


def _explain_postgresql(chain: list[BaseException], url: URL, lock_timeout: float) -> str:
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    user = url.username or os.environ.get("USER", "")
    for item in chain:
        state = getattr(item, "sqlstate", None)
        message = str(item).splitlines()[0] if str(item) else ""
        if state == PG_UNKNOWN_DATABASE:
            return (
                f'PostgreSQL database "{url.database}" does not exist on {where}: create it '
                f"(createdb -h {url.host or 'localhost'} -U {user} {url.database}), or fix {FIX_URL}"
            )
        if state == PG_BAD_USER:
            return (
                f'PostgreSQL on {where} refuses user "{user}" ({message}): create the role, or fix {FIX_URL}'
            )
        if state == PG_BAD_PASSWORD:
            return f'PostgreSQL on {where} refuses the password of user "{user}": fix it in {FIX_URL}'
        if state == PG_NO_PERMISSION:
            return (
                f'PostgreSQL user "{user}" lacks a permission on {where} ({message}): '
                f"grant it, or use another user"
            )
        if state == PG_LOCK_NOT_AVAILABLE:
            return (
                f'a table of PostgreSQL database "{url.database}" stayed locked by another session for '
                f"{lock_timeout:g} s: end that session, or raise recorder: lock_timeout"
            )
        if state == PG_STARTING:
            return f"PostgreSQL on {where} is still starting: try again in a moment"
        if isinstance(item, socket.gaierror):
            return (
                f"the PostgreSQL host {url.host!r} is unknown (name lookup failed): fix the host in {FIX_URL}"
            )
        if isinstance(item, ConnectionRefusedError) or getattr(item, "errno", None) == errno.ECONNREFUSED:
            return (
                f"PostgreSQL on {where} refuses connections: start the server, "
                f"or fix the host and port in {FIX_URL}"
            )
        if isinstance(item, TimeoutError):
            return f"PostgreSQL on {where} did not answer: check the network, or fix the host in {FIX_URL}"
        if isinstance(item, OSError):
            return (
                f"cannot reach PostgreSQL on {where} ({item.strerror or item}): check the host in {FIX_URL}"
            )
    last = chain[-1]
    text = str(last).splitlines()[0] if str(last) else type(last).__name__
    return f'cannot use PostgreSQL database "{url.database}" on {where}: {text}'
