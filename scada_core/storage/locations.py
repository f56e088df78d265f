"""Where Alembic finds revisions: core's own folder, then each discovered integration's `migrations/`."""
from __future__ import annotations

from pathlib import Path

from ..loader import discover

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"  # Alembic's environment (env.py)
CORE_VERSIONS = MIGRATIONS_DIR / "versions"  # the core's and billing's revisions


def version_locations(config_dir: Path | None = None) -> list[Path]:
    """Return core's version folder and each discovered integration's (custom ones under ``config_dir`` too)."""
    found = (integration.migrations for integration in discover(config_dir).values())
    return [CORE_VERSIONS, *(folder for folder in found if folder is not None)]
