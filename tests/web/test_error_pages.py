"""A staff page's 403, 404 and unexpected errors keep the site's layout and navigation; the API stays JSON."""
from __future__ import annotations

import logging
from typing import Any

import pytest

from .conftest import WebEnv


async def test_unknown_pages_meters_and_records_answer_404_in_the_layout(start_web: Any) -> None:
    env: WebEnv = await start_web(units=1)
    await env.operator("boss", "admin")
    client, _csrf = await env.login("boss")
    for path in ("/no/such/page", "/meters/acrel_dtsy1352.nonesuch", "/transactions/999999", "/batches/nope"):
        async with client.get(env.base + path) as resp:
            page = await resp.text()
        assert resp.status == 404 and resp.content_type == "text/html", path
        assert 'id="error-page"' in page and "<title>404 页面不存在 · " in page, path
        assert '<a href="/accounts"' in page and "Traceback" not in page, path  # the navigation is kept
    async with client.get(env.base + "/api/no/such/route") as resp:
        assert resp.status == 404 and "error-page" not in await resp.text()  # a program's route: no page


async def test_a_forbidden_page_and_an_unexpected_error_keep_the_layout(
    start_web: Any, caplog: pytest.LogCaptureFixture
) -> None:
    env: WebEnv = await start_web(units=1)
    await env.operator("clerk", "cashier")
    client, _csrf = await env.login("clerk")
    async with client.get(env.base + "/admin/operators") as resp:
        assert resp.status == 403 and '<a href="/accounts"' in await resp.text()

    async def broken() -> Any:
        raise RuntimeError("the overview broke")

    env.site.overview.get = broken  # a fault inside one page
    with caplog.at_level(logging.ERROR):
        async with client.get(env.base + "/") as resp:
            page = await resp.text()
    assert resp.status == 500 and "<title>500 系统出错 · " in page and '<a href="/accounts"' in page
    assert "the overview broke" not in page and "Traceback" not in page
    logged = [r for r in caplog.records if r.exc_info and "the overview broke" in str(r.exc_info[1])]
    assert len(logged) == 1  # logged once, with its traceback
