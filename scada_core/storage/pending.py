"""The migrations a database still lacks, in the order they apply."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from .database import alembic_config


@dataclass(frozen=True)
class Migration:
    """One revision to apply: its id and the first line of its docstring."""

    revision: str
    description: str


def pending_migrations(versions: Sequence[Path], current: Collection[str]) -> list[Migration]:
    """Return the revisions between ``current`` (the database's, none for an empty one) and every branch head."""
    script = ScriptDirectory.from_config(alembic_config(versions))
    lower = tuple(current) or "base"
    return [
        Migration(rev.revision, (rev.doc or "").strip().splitlines()[0] if rev.doc else "")
        for rev in reversed(list(script.iterate_revisions("heads", lower)))
    ]
