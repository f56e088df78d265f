"""The staff page's line at start says the first login while the configured admin waits for it, and not after."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.web.conftest import WebEnv


async def test_first_login_hint_until_the_admin_is_not_alone(start_web: Callable[..., Awaitable[WebEnv]]) -> None:
    """A fresh site's staff entry tells admin / admin123; once other operators exist the seed is no longer waiting."""
    env = await start_web()
    assert env.core.http is not None
    [(who, path, login)] = env.core.http.entry_points
    assert (who, path) == ("staff", "/") and login.startswith("first login admin / admin123")
    assert await env.site.auth.ensure_seed_admin("admin", "admin123") is True
    await env.operator("cashier1", "cashier")
    assert await env.site.auth.ensure_seed_admin("admin", "admin123") is False
