"""Quick setup by import in a real browser: download the template, fill in the demo tower, dry run, apply, and
see its 144 meters online on the page, without a restart."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from integrations.acrel_dtsy1352.sim_server import SimServer

from .conftest import WebEnv
from .test_browser import ARGS, CHROMIUM, login
from .wiring_tools import NO_WIRING, demo_rows, fill, tower  # noqa: F401 - tower is a fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.mark.timeout(120)
async def test_office_sets_up_the_tower_from_the_settings_page(start_web: Any, tower: dict[str, SimServer],
                                                                tmp_path: Path) -> None:
    """Settings -> 电表和通讯管理机 -> template -> upload -> 预检 -> 确认导入 -> 144 meters listed, all online."""
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415 - only where a browser runs

    env: WebEnv = await start_web(extra=NO_WIRING)
    await env.operator("office", "admin")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = await browser.new_context(accept_downloads=True)
            page = await context.new_page()
            blocked: list[str] = []
            page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
            await login(page, env.base, "office")
            await page.goto(f"{env.base}/admin/settings")
            await page.click("#wiring-link")
            await expect(page.locator("#wiring-meters tbody tr")).to_have_count(0)
            async with page.expect_download() as download_info:
                await page.click("#wiring-template")
            template = Path(await (await download_info.value).path()).read_bytes()
            filled = tmp_path / "tower.xlsx"
            filled.write_bytes(fill(template, *demo_rows(tower)))
            await page.set_input_files("#wiring-upload input[name=sheet]", str(filled))
            await page.click("#wiring-upload button")
            await expect(page.locator("#wiring-plan")).to_contain_text("4 台通讯管理机、144 块电表")
            await page.click("#wiring-apply")
            await expect(page.locator("#message")).to_contain_text("已导入 4 台通讯管理机、144 块电表")
            await expect(page.locator("#wiring-gateways tbody tr")).to_have_count(4)
            await expect(page.locator("#wiring-meters tbody tr")).to_have_count(144)
            for _attempt in range(60):  # the page shows what the sweeps found; reload until all are online
                await page.goto(f"{env.base}/admin/wiring")
                if await page.locator("#wiring-meters tbody tr", has_text="在线").count() == 144:
                    break
                await page.wait_for_timeout(500)
            await expect(page.locator("#wiring-meters tbody tr", has_text="在线")).to_have_count(144)
            await expect(page.locator('#wiring-meters tr[data-entity="acrel_dtsy1352.b1_f13_1312"]')).to_contain_text("导入")
            assert not blocked, blocked
        finally:
            await browser.close()
