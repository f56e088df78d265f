"""The first admin: no hard-coded password; with none configured a one-time one is made and said once, in the
staff page's line logged at start."""
from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.conftest import WebEnv

FIRST_LOGIN = re.compile(r"first login admin / (\S+) \(a one-time password")


@pytest.mark.parametrize("db_kind", ["sqlite"])  # no command: once is enough
async def test_first_admin_gets_a_one_time_password(start_web: Any) -> None:
    """The password said logs in (and only it: not the old admin123); a restart says none again."""
    env: WebEnv = await start_web(web={"admin": {"username": "admin"}})
    assert env.core.http is not None
    [(_who, _path, hint)] = env.core.http.entry_points
    [password] = FIRST_LOGIN.findall(hint)
    assert (await env.submit_login(env.client(), "admin", "admin123"))[0] != 200
    status, page, _ = await env.submit_login(env.client(), "admin", password)
    assert status == 200 and 'name="confirm"' in page  # a new password is asked for at once
    await env.core.async_stop()
    again = await start_web(web={"admin": {"username": "admin"}})  # the same database: the admin exists
    assert again.core.http is not None
    [(_who, _path, hint)] = again.core.http.entry_points
    assert password not in hint and "one-time password logged at the first start" in hint, hint
