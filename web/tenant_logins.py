"""What the staff web asks of the tenant pages' logins (the tenant integration puts its keeper in core.data under
web.const.TENANT_LOGINS when it sets up; the staff web never imports it)."""
from __future__ import annotations

from typing import Any, Protocol


class TenantLogins(Protocol):
    """Set a shop's login, tell what it is, send a one-time code."""

    async def set_credentials(
        self, account_id: int, password: str | None = None, phone: str | None = None,
        tenant_control: bool | None = None,
    ) -> None:
        """Create or change a shop's login; refuse a bad phone or password, or another shop's phone."""

    async def login_state(self, account_id: int) -> dict[str, Any]:
        """Return the phone and whether a password is set (never the hash)."""

    async def send_code(self, phone: str) -> None:
        """Send a one-time login code to a registered phone."""
