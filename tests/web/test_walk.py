"""Walk every staff page as admin in a real browser at two laptop sizes: nothing wider than the screen, a title
of its own, no entity id outside the advanced line and no enum left untranslated (issue 14, items 1 and 9).

The walk follows links: the navigation, then each page's links to its sub-pages (one account, one meter, one
transaction, every report kind ...), so a page added later is walked as soon as something links to it. Every
offence on every page is collected first and reported in one failure, with a screenshot of each page kept under
$ARTIFACTS_DIR (or the test's tmp dir).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from scada_core.bootstrap import async_from_config_dir
from tests.demo import copy_demo
from tests.field.test_demo_tower import BUSES, day_time
from tests.helpers import wait_for

from .conftest import PASSWORD, WebEnv
from .test_browser import ARGS, CHROMIUM, login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]

VIEWPORTS = ((1366, 768), (1440, 900))
MAX_PAGES = 60
ADMIN = {"id": "boss", "role": "admin"}
# What people must never read: a meter's or gateway's entity id ...
ENTITY_ID = re.compile(r"\b(?:acrel_dtsy1352|modbus_meter|modbus)\.\w+")
# ... or an enum as the code spells it (the pages are in zh-CN, where none of these words belongs).
RAW_ENUM = re.compile(r"(?<![\w.-])(?:closed|open|True|False|None|cash|alipay|wechat|meter|server|online|offline|"
                      r"tripped|normal|hold|forced_off|not_opened|opened|alarm1|alarm2|arrears|sale|refund|"
                      r"reversal|pending|delivered|cancelled)(?![\w.-])")
# Links that are no page to walk: downloads, writes, data for scripts.
NOT_PAGES = re.compile(r"\.(?:pdf|csv|xlsx|json|png|js|css)$|^/(?:logout|language|static|api|branding)\b|"
                       r"^/web/(?:grid\.json|export)|[?&]format=")
# The visible text of a page with every element of class "advanced" left out (hidden while the text is taken).
VISIBLE_TEXT = """() => {
  const hidden = [...document.querySelectorAll('.advanced')];
  const before = hidden.map(e => e.style.display);
  hidden.forEach(e => { e.style.display = 'none'; });
  const options = [...document.querySelectorAll('select option:checked')].map(o => o.textContent).join('\\n');
  const text = document.body.innerText + '\\n' + options;
  hidden.forEach((e, i) => { e.style.display = before[i]; });
  return text;
}"""
LINKS = "() => [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))"


def page_kind(url: str) -> str:
    """The kind of page a link opens: its path with ids and entity ids generalised, plus a report's kind."""
    parts = urlsplit(url)
    path = re.sub(r"/\d+(?=/|$)", "/N", parts.path)
    path = re.sub(r"/meters/[^/]+", "/meters/E", path)
    path = re.sub(r"/web/batch/[^/]+", "/web/batch/B", path)
    keep = {k: v for k, v in parse_qsl(parts.query) if k in ("kind", "tab", "view")}
    return path + ("?" + urlencode(sorted(keep.items())) if keep else "")


def walkable(href: str) -> str | None:
    """The same-site page a link opens (path and query), or None when it is no page to walk."""
    if not href or href.startswith(("#", "mailto:", "javascript:", "http://", "https://", "//")):
        return None
    parts = urlsplit(href)
    if not parts.path.startswith("/") or NOT_PAGES.search(parts.path) or NOT_PAGES.search(href):
        return None
    return href


def default_view(urls: list[str]) -> bool:
    """Whether the URLs are one page: its bare path (its default view) and that view named in a query."""
    paths = {urlsplit(u).path for u in urls}
    return len(urls) == 2 and len(paths) == 1 and any(not urlsplit(u).query for u in urls)


async def seed(env: WebEnv) -> None:
    """An opened account with a sale (an account, a transaction and a receipt to walk to) and a meter tripped
    through the API (an audit record naming it)."""
    billing = env.site.billing
    await billing.open_account("张三商店", ["acrel_dtsy1352.b1_f2_m1"], ADMIN)
    await billing.sell("acrel_dtsy1352.b1_f2_m1", 12345, "cash", "walk-1", ADMIN)
    token = await env.token("robot", "admin")  # through the API: the audit log gets a meter's before and after
    async with env.client().post(env.base + "/api/services/acrel_dtsy1352/trip",
                                 json={"entity_id": "acrel_dtsy1352.b1_f2_m2"},
                                 headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200, await resp.text()
    env.site.grid.invalidate()


async def walk(base: str, shots: Path) -> tuple[list[str], list[str]]:
    """Walk every page reachable by links from / as the logged-in boss; return the pages and every offence."""
    from playwright.async_api import async_playwright  # noqa: PLC0415 - only where a browser runs

    shots.mkdir(parents=True, exist_ok=True)
    offences: list[str] = []
    titles: dict[str, str] = {}
    walked: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": VIEWPORTS[0][0], "height": VIEWPORTS[0][1]})
            page = await context.new_page()
            await login(page, base, "boss")
            await page.wait_for_url(re.compile(r"/$"))
            queue, seen_kinds = ["/"], set()
            while queue and len(walked) < MAX_PAGES:
                url = queue.pop(0)
                kind = page_kind(url)
                if kind in seen_kinds:
                    continue
                seen_kinds.add(kind)
                response = await page.goto(base + url)
                status = response.status if response is not None else 0
                walked.append(url)
                if status >= 400:
                    offences.append(f"{url}: HTTP {status}")
                titles[url] = (await page.title()).strip()
                for href in await page.evaluate(LINKS):
                    if (target := walkable(href)) and page_kind(target) not in seen_kinds:
                        queue.append(target)
                for width, height in VIEWPORTS:
                    await page.set_viewport_size({"width": width, "height": height})
                    await page.wait_for_timeout(100)
                    scroll, inner = await page.evaluate(
                        "() => [document.documentElement.scrollWidth, window.innerWidth]")
                    if scroll > inner:
                        offences.append(f"{url} at {width}x{height}: {scroll} px wide (viewport {inner})")
                    name = re.sub(r"[^\w]+", "_", url).strip("_") or "home"
                    await page.screenshot(path=str(shots / f"{name}-{width}x{height}.png"), full_page=True)
                text = await page.evaluate(VISIBLE_TEXT)
                if ids := sorted(set(ENTITY_ID.findall(text))):
                    offences.append(f"{url}: entity ids outside the advanced line: {ids[:5]}")
                if raw := sorted(set(RAW_ENUM.findall(text))):
                    offences.append(f"{url}: untranslated values: {raw[:10]}")
        finally:
            await browser.close()
    by_title: dict[str, list[str]] = {}
    for url, title in titles.items():
        by_title.setdefault(title, []).append(url)
    offences += [f"{urls}: share the title {title!r}" for title, urls in by_title.items()
                 if len(urls) > 1 and not default_view(urls)]
    offences += [f"{url}: no title" for url, title in titles.items() if not title]
    return walked, offences


def check(walked: list[str], offences: list[str], shots: Path) -> None:
    """Fail with every offence at once, after checking the walk reached each kind of page."""
    kinds = {page_kind(u) for u in walked}
    for needed in ("/", "/accounts", "/accounts/N", "/meters/E", "/transactions/N", "/reports?kind=offline",
                   "/admin/settings", "/admin/operators", "/admin/audit"):
        assert needed in kinds, f"the walk never reached {needed}: {sorted(kinds)}"
    assert not offences, f"{len(offences)} offences on {len(walked)} pages (screenshots in {shots}):\n" + "\n".join(
        offences)


def artifacts(tmp_path: Path, name: str) -> Path:
    """Where a walk's screenshots go: $ARTIFACTS_DIR when set, else the test's tmp dir."""
    return Path(os.environ.get("ARTIFACTS_DIR") or tmp_path) / name


@pytest.mark.timeout(600)
async def test_every_staff_page_fits_is_titled_and_speaks_to_people(start_web: Any, tmp_path: Path) -> None:
    """Every page reachable by links, at 1366x768 and 1440x900: no horizontal scroll, a distinct <title>, no
    entity id outside class="advanced", no raw enum in zh-CN; all offences reported together."""
    env: WebEnv = await start_web(units=3, gateway={"label": "1号串口服务器"})
    await env.operator("boss", "admin")
    await seed(env)
    shots = artifacts(tmp_path, "walk")
    check(*await walk(env.base, shots), shots)


@pytest.mark.timeout(600)
async def test_the_demo_tower_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same walk over the shipped demo tower (144 meters, 4 labelled serial servers, a TOU tariff): the
    pages at the size a site has (the settings page was 4,835 px wide)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)  # the demo keeps its own SQLite file, as it does when run
    config = copy_demo(tmp_path / "demo", wire_timing=False)
    day_time(config / "friendly_credit.yaml")
    core = await async_from_config_dir(config)
    try:
        await wait_for(lambda: all((core.states.get(b) is not None and (core.states.get(b).attributes.get("sweeps")
                                    or 0) >= 1) for b in BUSES), 60, "first sweeps")
        site = core.data["web"]
        await site.auth.create_operator("boss", "boss", "admin", PASSWORD, must_change=False)
        meter = sorted(site.directory.meter_ids())[0]
        await site.billing.open_account("演示商铺", [meter], ADMIN)
        await site.billing.sell(meter, 50000, "cash", "walk-demo", ADMIN)
        shots = artifacts(tmp_path, "walk-demo")
        check(*await walk(f"http://127.0.0.1:{core.http.port}", shots), shots)
    finally:
        await core.async_stop()
