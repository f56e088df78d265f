"""The first admin: no hard-coded password; with none configured a one-time one is made and logged once."""
from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from tests.web.conftest import WebEnv

FIRST_LOGIN = re.compile(r"first login: admin / (\S+)")


@pytest.mark.parametrize("db_kind", ["sqlite"])  # no command: once is enough
async def test_first_admin_gets_a_one_time_password(start_web: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The logged password logs in (and only it: not the old admin123); a restart makes no second one."""
    caplog.set_level(logging.WARNING, logger="web")
    env: WebEnv = await start_web(web={"admin": {"username": "admin"}})
    [password] = FIRST_LOGIN.findall(caplog.text)
    assert (await env.submit_login(env.client(), "admin", "admin123"))[0] != 200
    status, page, _ = await env.submit_login(env.client(), "admin", password)
    assert status == 200 and 'name="confirm"' in page  # a new password is asked for at once
    caplog.clear()
    await env.core.async_stop()
    await start_web(web={"admin": {"username": "admin"}})  # the same database: the admin exists
    assert not FIRST_LOGIN.search(caplog.text)
