"""A command in memory while it is open: what its bus attempts, and the future its caller waits on."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .const import CMD_QUEUED

if TYPE_CHECKING:
    from .device import BusDevice


@dataclass(eq=False)
class CommandJob:
    """One open command on one meter."""

    id: str
    device: BusDevice
    kind: str
    payload: dict[str, Any]
    deadline: float
    max_attempts: int
    batch_id: str | None = None
    attempts: int = 0
    state: str = CMD_QUEUED
    verify_first: bool = False
    running: bool = False
    future: asyncio.Future[dict[str, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def expired_text(self) -> str:
        """Return the error of a command its deadline overtook."""
        return (
            f"{self.device.entity_id}: 命令超时未确认（表计或通讯管理机离线） / "
            f"{self.kind} not confirmed before its deadline (meter or gateway offline)"
        )

    def event_data(self, error: str | None = None) -> dict[str, Any]:
        """Return the data of its field_command event."""
        return {
            "command_id": self.id,
            "batch_id": self.batch_id,
            "entity_id": self.device.entity_id,
            "kind": self.kind,
            "state": self.state,
            "attempts": self.attempts,
            "error": error,
        }
