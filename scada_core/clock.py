"""Wall-clock access through one object, so tests and simulators can move time."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from .const import DEFAULT_TIME_ZONE


class Clock:
    """Tell the current time; ``offset`` shifts it for tests and demos."""

    def __init__(self, time_zone: tzinfo | str = DEFAULT_TIME_ZONE) -> None:
        self.time_zone: tzinfo = ZoneInfo(time_zone) if isinstance(time_zone, str) else time_zone
        self.offset = timedelta(0)
        self.frozen: datetime | None = None

    def utcnow(self) -> datetime:
        """Return the current time, timezone-aware in UTC."""
        if self.frozen is not None:
            return self.frozen
        return datetime.now(timezone.utc) + self.offset

    def now(self) -> datetime:
        """Return the current time in the configured time zone."""
        return self.utcnow().astimezone(self.time_zone)

    def timestamp(self) -> float:
        """Return the current time as POSIX seconds."""
        if self.frozen is not None:
            return self.frozen.timestamp()
        return time.time() + self.offset.total_seconds()

    def local(self, moment: datetime) -> datetime:
        """Return ``moment`` in the configured time zone."""
        return moment.astimezone(self.time_zone)

    def set_now(self, moment: datetime) -> None:
        """Pretend the time is ``moment`` from now on (tests, simulators)."""
        self.frozen = None
        self.offset = moment - datetime.now(timezone.utc)

    def freeze(self, moment: datetime) -> None:
        """Stop the time at ``moment`` until the next ``set_now`` (tests)."""
        self.frozen = moment.astimezone(timezone.utc)
