"""Counter sales in three steps and receipts a cashier hands over: find the tenant by name or room, the receipt
with the money before and after, price, kWh, purchase count and signature line, inline PDF and print page, the
opening receipt (开户单), and the receipt layout an admin edits (title, fields, logo)."""
from __future__ import annotations

import io
import os
import re
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from .conftest import WebEnv
from .test_browser import ARGS, CHROMIUM, login

pytestmark = pytest.mark.timeout(90)

M1 = "acrel_dtsy1352.b1_f2_m1"
CASHIER = {"id": "clerk", "role": "cashier"}


def pdf_text(pdf: bytes) -> str:
    """Return the text of a PDF."""
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def png(width: int = 40, height: int = 20) -> bytes:
    """Return a small PNG."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def sell(env: WebEnv, client: Any, csrf: str, amount: str, key: str) -> int:
    """Sell through the confirmed form; return the transaction id."""
    form = {"csrf": csrf, "meter": M1, "kind": "sale", "amount": amount, "method": "cash", "key": key,
            "confirmed": "1"}
    async with client.post(env.base + "/sell", data=form) as resp:
        assert resp.status == 200
        return int(str(resp.url).rsplit("/", 1)[1])


async def test_receipt_states_before_after_price_kwh_count(start_web: Any) -> None:
    """The print page and the PDF carry 购电前/后余额, 电价, kWh, 购电次数 and 客户签字; the PDF opens inline, and
    downloads with ?download=1."""
    env: WebEnv = await start_web(units=1)
    await env.operator("clerk", "cashier")
    client, csrf = await env.login("clerk")
    assert env.sim is not None
    env.sim.meters[1].remaining_fen = 0
    await env.site.billing.open_account("王记面馆", [M1], CASHIER)
    first = await sell(env, client, csrf, "20.00", "s-1")
    second = await sell(env, client, csrf, "50.00", "s-2")
    async with client.get(env.base + f"/receipts/{second}") as resp:
        page = await resp.text()
        assert resp.status == 200 and 'id="print"' in page and "/static/web/receipt.css" in page
    for expected in ("购电前余额", "20.00", "购电后余额", "70.00", "1.00 元/kWh", "50.00 kWh", "购电次数", "客户签字",
                     "王记面馆", "伍拾元整"):
        assert expected in page, expected
    count = env.sim.meters[1].purchase_count
    assert re.search(rf"购电次数</td><td[^>]*>{count}<", page), count
    async with client.get(env.base + f"/receipts/{second}.pdf") as resp:
        assert resp.headers["Content-Disposition"].startswith("inline")
        text = pdf_text(await resp.read())
    for expected in ("购电前余额", "70.00", "50.00 kWh", "客户签字", "存根联", "财务联"):
        assert expected in text, expected
    async with client.get(env.base + f"/receipts/{first}.pdf?download=1") as resp:
        assert resp.headers["Content-Disposition"].startswith("attachment")
    async with client.get(env.base + f"/transactions/{second}") as resp:
        shown = await resp.text()
        assert f'href="/receipts/{second}"' in shown and f'href="/receipts/{second}.pdf?download=1"' in shown
    for bad in ("/receipts/99999999", "/receipts/99999999.pdf", "/accounts/99999999/receipt"):
        async with client.get(env.base + bad) as resp:
            assert resp.status == 404


async def test_find_the_tenant_by_name_room_or_number(start_web: Any) -> None:
    """The sell form finds an open account by its name, room, number or phone; hostile text finds nothing."""
    env: WebEnv = await start_web(units=2)
    await env.operator("clerk", "cashier")
    client, csrf = await env.login("clerk")
    await env.site.directory.save([{"entity_id": M1, "floor": "2F", "room": "0201", "label": "面馆", "errors": []}])
    account = await env.site.billing.open_account("王记面馆", [M1], CASHIER, phone="13800000201")
    for query in ("王记", "0201", str(account["id"]), "13800000201", "2F-0201"):
        async with client.get(env.base + "/sell", params={"q": query}) as resp:
            page = await resp.text()
            assert resp.status == 200 and 'id="found"' in page and "王记面馆" in page, query
            assert f'href="/sell?meter={M1}&kind=sale"' in page
    for hostile in ("' OR 1=1 --", "<script>x</script>", "王" * 300, "\u202e面馆", "%"):
        async with client.get(env.base + "/sell", params={"q": hostile}) as resp:
            page = await resp.text()
            assert resp.status == 200 and "王记面馆" not in page and "<script>x</script>" not in page, hostile[:20]
    async with client.get(env.base + "/sell", params={"q": "x" * 10_000}) as resp:
        assert resp.status == 400  # longer than any request line the server reads: refused, nothing runs
    async with client.get(env.base + f"/sell?meter={M1}&kind=sale") as resp:
        page = await resp.text()
        assert 'id="sell-tenant">王记面馆<' in page  # who it is, before any amount


async def test_opening_receipt_with_and_without_money(start_web: Any) -> None:
    """开户单: an opening that found no money prints A<account>; one that kept money prints its receipt number."""
    env: WebEnv = await start_web(units=2)
    await env.operator("clerk", "cashier")
    client, _csrf = await env.login("clerk")
    bare = await env.site.billing.open_account("空表商户", [M1], CASHIER)
    assert env.sim is not None
    env.sim.meters[2].remaining_fen = 1500
    second = "acrel_dtsy1352.b1_f2_m2"
    kept = await env.site.billing.open_account("带余额商户", [second], CASHIER)
    async with client.get(env.base + f"/accounts/{bare['id']}/receipt") as resp:
        page = await resp.text()
        assert f"A{bare['id']}" in page and "空表商户" in page and "开户" in page and "客户签字" in page
    async with client.get(env.base + f"/accounts/{kept['id']}/receipt.pdf") as resp:
        assert resp.status == 200
        text = pdf_text(await resp.read())
    [opening] = await env.site.billing.account_history(kept["id"], kinds=["opening"])
    assert opening["receipt_no"] in text and "15.00" in text and "带余额商户" in text
    async with client.get(env.base + f"/accounts/{kept['id']}") as resp:
        assert f'href="/accounts/{kept["id"]}/receipt"' in await resp.text()


async def test_admin_edits_the_receipt_layout(start_web: Any) -> None:
    """Title, footer, a field left out and a logo show on the next receipt; bad uploads and text are refused;
    a cashier may not touch it; the change is audited and outlives a restart."""
    env: WebEnv = await start_web(units=1)
    await env.operator("boss", "admin")
    await env.operator("clerk", "cashier")
    client, csrf = await env.login("boss")
    fields = {f"field_{name}": "1" for name in ("building", "meter", "method", "balance_before", "balance_after",
                                                "price", "kwh", "signature")}  # no purchase count, no account no.
    form = {"csrf": csrf, "title": "金鼎物业 购电凭证", "footer": "请妥善保管本凭证", **fields}
    data = {**form, "logo": io.BytesIO(png())}
    async with client.post(env.base + "/admin/receipt", data=data) as resp:
        page = await resp.text()
        assert resp.status == 200 and 'id="message"' in page and 'id="logo-now"' in page
    await env.site.billing.open_account("王记面馆", [M1], CASHIER)
    cashier, cashier_csrf = await env.login("clerk")
    sale = await sell(env, cashier, cashier_csrf, "10.00", "s-1")
    async with cashier.get(env.base + f"/receipts/{sale}") as resp:
        page = await resp.text()
    assert "金鼎物业 购电凭证" in page and "请妥善保管本凭证" in page and "data:image/png;base64," in page
    assert "购电次数" not in page and "账户号" not in page and "购电后余额" in page
    async with cashier.get(env.base + f"/receipts/{sale}.pdf") as resp:
        text = pdf_text(await resp.read())
    assert "金鼎物业 购电凭证" in text and "购电次数" not in text
    async with client.get(env.base + "/admin/receipt?preview=1") as resp:
        assert resp.status == 200 and "金鼎物业 购电凭证" in pdf_text(await resp.read())
    for bad, message in (({"logo": io.BytesIO(b"GIF89a not a png")}, "PNG 或 JPEG"),
                         ({"logo": io.BytesIO(b"\x89PNG" + b"\x00" * (600 * 1024))}, "太大"),
                         ({"logo": io.BytesIO(png(3000, 3000))}, "太大"),
                         ({"title": "标" * 10_000}, "最多 64 字")):
        async with client.post(env.base + "/admin/receipt", data={**form, **bad}) as resp:
            page = await resp.text()
            assert resp.status == 400 and message in page, message
    assert env.site.receipt_layouts.current.title == "金鼎物业 购电凭证"
    async with cashier.get(env.base + "/admin/receipt") as resp:
        assert resp.status == 403
    [audit] = await env.site.audit.query(action="receipt_layout")
    assert "金鼎物业" in audit["after"] and audit["operator"] == "boss"
    await env.site.receipt_layouts.async_load()  # what a restart reads
    assert env.site.receipt_layouts.current.title == "金鼎物业 购电凭证"
    assert not env.site.receipt_layouts.current.shows("purchase_count")


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
async def test_sale_to_print_page_in_the_browser(start_web: Any) -> None:
    """A cashier finds the tenant by room, sells, and opens the receipt's print page (styled, nothing blocked)."""
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415 - only where a browser runs

    env: WebEnv = await start_web(units=1)
    await env.operator("clerk", "cashier")
    await env.site.directory.save([{"entity_id": M1, "floor": "2F", "room": "0201", "label": "面馆", "errors": []}])
    await env.site.billing.open_account("王记面馆", [M1], CASHIER)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
            blocked: list[str] = []
            page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
            await login(page, env.base, "clerk")
            await page.goto(env.base + "/accounts")
            await page.click("#to-sell")
            await page.fill("#find-form input[name=q]", "0201")
            await page.click("#find-form button[type=submit]")
            await page.click("#found a.choose")
            await expect(page.locator("#sell-tenant")).to_have_text("王记面馆")
            await page.fill("#amount", "88")
            await page.click("#next")
            await expect(page.locator("#kwh")).to_contain_text("88.00")
            await page.click("#confirm")
            await page.click("#receipt-print")
            await expect(page.locator("#print")).to_be_visible()
            height = await page.locator(".copy").first.evaluate("e => getComputedStyle(e).height")
            assert float(height.removesuffix("px")) > 300, height  # the receipt's stylesheet applies (88 mm)
            await expect(page.locator("body")).to_contain_text("购电后余额")
            assert blocked == []
        finally:
            await browser.close()
