"""Fixtures shared by every test: databases (SQLite always, PostgreSQL when DATABASE_URL is set) and a core."""
from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from scada_core.core import Core
from scada_core.storage.database import Database, resolve_url

POSTGRES_URL = os.environ.get("DATABASE_URL")
DB_KINDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def pytest_configure(config: pytest.Config) -> None:
    """Register our markers."""
    config.addinivalue_line("markers", "browser: drives Debian's chromium through Playwright")


@pytest.fixture(params=DB_KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    """Name the database kind of this run: 'sqlite' or 'postgresql'."""
    return str(request.param)


@pytest.fixture
def pg_schema() -> str:
    """Return a fresh PostgreSQL schema name so tests never share tables."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def db_settings(db_kind: str, tmp_path: Path, pg_schema: str) -> dict[str, str]:
    """Return recorder settings (db_url and, on PostgreSQL, db_schema) for one test."""
    if db_kind == "postgresql":
        assert POSTGRES_URL
        return {"db_url": POSTGRES_URL, "db_schema": pg_schema}
    return {"db_url": f"sqlite:///{tmp_path / 'test.db'}"}


@pytest.fixture
async def database(db_settings: dict[str, str], tmp_path: Path) -> AsyncIterator[Database]:
    """Yield a migrated database; drop the PostgreSQL schema afterwards."""
    db = Database(resolve_url(tmp_path, db_settings["db_url"]), db_settings.get("db_schema"))
    await db.async_upgrade()
    yield db
    if db.schema:
        async with db.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE'))
    await db.async_close()


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    """Yield a bare core (no database, no HTTP) that is stopped afterwards."""
    instance = Core(tmp_path)
    await instance.async_start()
    yield instance
    await instance.async_stop()
