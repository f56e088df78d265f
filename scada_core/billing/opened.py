"""The opened meters and how each is billed, loaded at start and kept as accounts open and close."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from scada_core.meters import billing_mode

from .const import MODE_SERVER
from .models import MeterRow

if TYPE_CHECKING:
    from scada_core.storage.database import Database

    from .port import MeterPort


class OpenedMeters:
    """Which meters are opened, in which mode."""

    def __init__(self, db: Database, meters: MeterPort) -> None:
        self.db = db
        self.meters = meters
        self._modes: dict[str, str] = {}

    async def async_load(self) -> None:
        """Remember the meters opened in the database."""
        async with self.db.session() as session:
            rows = await session.execute(
                select(MeterRow.entity_id, MeterRow.mode).where(MeterRow.account_id.is_not(None))
            )
            self._modes.update((entity_id, mode) for entity_id, mode in rows.all())

    def remember(self, entity_id: str, mode: str | None) -> None:
        """Track an opened (mode) or closed (None) meter."""
        if mode is None:
            self._modes.pop(entity_id, None)
        else:
            self._modes[entity_id] = mode

    def opened_mode(self, entity_id: str) -> str | None:
        """Return the mode of an opened meter (None when it is not opened)."""
        return self._modes.get(entity_id)

    def opened(self, mode: str) -> list[str]:
        """Return the opened meters of one mode."""
        return [entity_id for entity_id, each in self._modes.items() if each == mode]

    def mode_of(self, entity_id: str) -> str:
        """Return how a meter is billed: what it declares (scada_core.meters), else what it declared when its
        account was opened, else server-side."""
        return billing_mode(self.meters.state(entity_id)) or self._modes.get(entity_id) or MODE_SERVER
