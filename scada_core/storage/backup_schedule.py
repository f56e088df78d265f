"""Scheduled backups (recorder: backup: {every, keep, path}): one every `every` seconds of the core's clock,
the newest `keep` kept, and how old the last one is for /api/health."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..const import BACKUP_CHECK_S, BACKUP_RETRY_S, BACKUP_STALE_FACTOR
from .backup import BackupError, async_backup, info_path, read_info

if TYPE_CHECKING:
    from ..core import Core
    from .database import Database

_LOGGER = logging.getLogger(__name__)

PREFIX = "openprepay-"
EXTENSIONS = {"sqlite": ".db", "postgresql": ".dump"}


class BackupSchedule:
    """Back the database up on schedule into one folder; prune the oldest."""

    def __init__(self, core: Core, db: Database, config: dict[str, Any]) -> None:
        self.core = core
        self.db = db
        self.every: float = config["every"]
        self.keep: int = config["keep"]
        self.folder = core.config.path(config["path"])  # an absolute path stays itself
        self.extension = EXTENSIONS[db.dialect]
        self.last_ts: float | None = None  # when the newest backup was made
        self.error: str | None = None  # why the last try failed, until one succeeds
        self._since = core.clock.timestamp()  # what "stale" counts from before any backup exists

    def backups(self) -> list[Path]:
        """Return the schedule's backups in the folder, oldest first (their names sort by time)."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob(f"{PREFIX}*{self.extension}") if info_path(p).is_file())

    def newest_ts(self) -> float | None:
        """Return when the newest readable backup in the folder was made."""
        for path in reversed(self.backups()):
            try:
                return read_info(path).created_ts
            except BackupError:
                continue
        return None

    def prune(self) -> None:
        """Delete all but the newest ``keep`` backups and their descriptions (blocking: run it in a thread)."""
        for old in self.backups()[: -self.keep]:
            old.unlink(missing_ok=True)
            info_path(old).unlink(missing_ok=True)

    def async_start(self) -> None:
        """Learn when the newest backup there was made (once, while the core sets up: /api/health tells its age
        from the first request on) and start the schedule."""
        self.last_ts = self.newest_ts()
        self.core.async_create_task(self._run(), "scheduled backups")

    def due_in(self) -> float:
        """Return the seconds until the next backup is due (0 or less: now)."""
        return 0.0 if self.last_ts is None else self.last_ts + self.every - self.core.clock.timestamp()

    async def _run(self) -> None:
        while True:
            if (wait := self.due_in()) > 0:
                await asyncio.sleep(min(wait, BACKUP_CHECK_S))
                continue
            if await self.async_backup_now() is None:
                await asyncio.sleep(min(self.every, BACKUP_RETRY_S))

    async def async_backup_now(self) -> Path | None:
        """Make a backup and prune the oldest; return its path (None: it failed, logged and kept in ``error``)."""
        now = self.core.clock.timestamp()
        stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = self.folder / f"{PREFIX}{stamp}{self.extension}"
        try:
            await async_backup(self.db, path, now)
        except Exception as err:  # noqa: BLE001 - reported by health and retried; a bug with its traceback
            ours = isinstance(err, BackupError) or self.db.caused(err)
            self.error = f"backup to {path} failed: {err if isinstance(err, BackupError) else self.db.explain(err)}"
            _LOGGER.error("%s", self.error, exc_info=not ours)
            return None
        self.last_ts, self.error = now, None
        await self.core.async_add_executor_job(self.prune)
        _LOGGER.info("Backed the database up to %s", path)
        return path

    def age(self) -> float | None:
        """Return the seconds since the last backup (None before the first)."""
        return None if self.last_ts is None else self.core.clock.timestamp() - self.last_ts

    def problem(self) -> str | None:
        """Return why backups are not keeping up (a failure, or none for more than twice `every`), or None."""
        reference = self.last_ts if self.last_ts is not None else self._since
        if (late := self.core.clock.timestamp() - reference) > BACKUP_STALE_FACTOR * self.every:
            what = f"the last backup is {late:.0f} s old" if self.last_ts is not None else f"no backup in {late:.0f} s"
            return f"{what}, more than {BACKUP_STALE_FACTOR} x every ({self.every:.0f} s)" + (
                f": {self.error}" if self.error else ""
            )
        return self.error
