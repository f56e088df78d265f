"""交易查询: transactions across accounts found by date, kind, method, operator, shop and receipt number; paged on
screen, all of them in a streamed .xlsx; hostile filters find nothing and break nothing."""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from scada_core.billing import ledger
from scada_core.billing.const import ACCOUNT_REVENUE_ENERGY
from scada_core.billing.ledger import Operator
from scada_core.billing.search import TransactionQuery

from .conftest import WebEnv

pytestmark = pytest.mark.timeout(120)
M1, M2 = "acrel_dtsy1352.b1_f2_m1", "acrel_dtsy1352.b1_f2_m2"


async def _sold(start_web: Any) -> tuple[WebEnv, int, int]:
    """Two shops; the florist buys five times in cash, the noodle bar twice by card (one of them by a cashier)."""
    env: WebEnv = await start_web(units=2)
    billing = env.core.data["billing"]
    admin = {"id": "admin", "role": "admin"}
    florist = int((await billing.open_account("一楼花店", [M1], admin))["id"])
    noodles = int((await billing.open_account("=一楼面馆", [M2], admin))["id"])
    for n in range(5):
        await billing.sell(M1, 1000 + n, "cash", f"f{n}", admin)
    await billing.sell(M2, 2500, "card", "n0", admin)
    await billing.sell(M2, 3000, "card", "n1", {"id": "clerk", "role": "cashier"})
    return env, florist, noodles


def _ids(page: str) -> list[int]:
    body = page[page.index('id="transactions"'):page.index("</table>", page.index('id="transactions"'))]
    return [int(x) for x in re.findall(r'<td><a href="/transactions/(\d+)">', body)]


async def test_filters_find_the_right_transactions_and_page_them(start_web: Any) -> None:
    """Each filter narrows to what it names; a shop by account number or part of its name; a receipt by its
    last digits; 50 a page with the count."""
    env, florist, noodles = await _sold(start_web)
    await env.operator("viewer1", "viewer")
    client, _ = await env.login("viewer1")

    async def found(**params: str) -> list[int]:
        async with client.get(f"{env.base}/transactions", params=params) as resp:
            assert resp.status == 200
            return _ids(await resp.text())

    every = await found()
    assert len(every) == 7 and every == sorted(every, reverse=True)  # the two openings had no money: no rows
    assert len(await found(shop=str(florist))) == 5 and len(await found(shop="面馆")) == 2
    assert len(await found(method="card")) == 2 and len(await found(operator="clerk")) == 1
    assert len(await found(kind="refund")) == 0 and len(await found(kind="sale")) == 7
    billing = env.core.data["billing"]
    rows, count = await billing.find_transactions(TransactionQuery(shop=str(noodles)), 10)
    receipt = rows[0]["receipt_no"]
    assert count == 2 and receipt and await found(receipt=receipt) == [rows[0]["id"]]
    assert await found(receipt=receipt[-3:]) == [rows[0]["id"]]
    assert await found(start="2001-01-01", end="2001-01-31") == []
    rows, count = await billing.find_transactions(TransactionQuery(), 3, 3)
    assert count == 7 and [r["id"] for r in rows] == every[3:6]
    async with client.get(f"{env.base}/transactions", params={"page": "2"}) as resp:
        assert "第 1 / 1 页，共 7 条" in await resp.text()  # past the last page: the last page


async def test_hostile_filters_find_nothing_and_break_nothing(start_web: Any) -> None:
    """Wildcards, quotes, huge and non-ASCII text, numbers past the database's integers, bad dates: no error
    page (a bad date is a clear 400), no match that the filter does not name."""
    env, _florist, _noodles = await _sold(start_web)
    client, _ = await _viewer(env)
    for params in ({"shop": "%"}, {"shop": "_"}, {"receipt": "%"}, {"shop": "' OR 1=1 --"}, {"shop": "9" * 40},
                   {"shop": "x" * 5000}, {"operator": "管理员"}, {"kind": "<script>"}, {"page": "-1"},
                   {"page": "99999999999999999999"}, {"method": "../../etc"}, {"shop": "９"}):
        async with client.get(f"{env.base}/transactions", params=params) as resp:
            assert resp.status == 200, params
            page = await resp.text()
            assert "<script>" not in page.split("<main>")[1].replace("&lt;script&gt;", ""), params
            if "page" not in params:
                assert _ids(page) == [], params
    async with client.get(f"{env.base}/transactions", params={"start": "2026-13-40"}) as resp:
        assert resp.status == 400 and "start" in await resp.text()
    async with client.get(f"{env.base}/transactions", params={"operator": "admin\u0000"}) as resp:
        assert resp.status == 400  # a NUL in any text is refused before a page sees it


async def test_the_export_streams_every_match_as_text_safe_numbers(start_web: Any, tmp_path: Path) -> None:
    """The .xlsx holds every match (past one database batch), money as numbers, a shop named like a formula as
    text; a viewer may export (export is every role's), and the export is audited."""
    env, florist, _ = await _sold(start_web)
    billing = env.core.data["billing"]
    admin = {"id": "admin", "role": "admin"}
    for n in range(5, 45):
        await billing.sell(M1, 100, "cash", f"f{n}", admin)
    client, _ = await _viewer(env)
    async with client.get(f"{env.base}/transactions", params={"format": "xlsx"}) as resp:
        assert resp.status == 200 and "spreadsheetml" in resp.headers["Content-Type"]
        book = load_workbook(io.BytesIO(await resp.read()))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("流水号", "时间", "类型") and len(rows) == 1 + 47
    shops = [row[3] for row in book.active.iter_rows(min_row=2) if row[3].value == "=一楼面馆"]
    assert len(shops) == 2 and {cell.data_type for cell in shops} == {"s"}  # text, never a formula
    noodles = [r for r in rows[1:] if r[3] == "=一楼面馆"]
    assert sorted(r[5] for r in noodles) == [25, 30]  # money as numbers (yuan)
    assert {r[6] for r in noodles} == {env.site.method_name("card", "zh-CN")}
    assert [r[0] for r in rows[1:]] == sorted((r[0] for r in rows[1:]), reverse=True)
    batches = [batch async for batch in billing.transaction_batches(TransactionQuery(shop=str(florist)), 4)]
    assert [len(b) for b in batches] == [4] * 11 + [1]  # 45 of the florist's, four a read
    ids = [row["id"] for batch in batches for row in batch]
    assert ids == sorted(set(ids), reverse=True)
    audit = await env.site.audit.query(action="transactions_export")
    assert audit and audit[0]["operator"] == "viewer1"


async def _viewer(env: WebEnv) -> Any:
    await env.operator("viewer1", "viewer")
    return await env.login("viewer1")


async def test_the_account_and_operator_lists_export_to_excel(start_web: Any) -> None:
    """The account list (as searched) and the operator list come out as .xlsx, audited; the operator list only
    to those who manage operators."""
    env, florist, noodles = await _sold(start_web)
    await env.operator("boss", "admin")
    client, _ = await env.login("boss")
    async with client.get(f"{env.base}/accounts", params={"q": "花店", "format": "xlsx"}) as resp:
        assert resp.status == 200
        rows = list(load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("账户", "户名", "手机") and len(rows) == 2
    assert rows[1][0] == florist and rows[1][1] == "一楼花店" and rows[1][5] == "正常"
    async with client.get(f"{env.base}/accounts", params={"format": "xlsx"}) as resp:
        rows = list(load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))
    assert {r[0] for r in rows[1:]} == {florist, noodles}
    async with client.get(f"{env.base}/admin/operators", params={"format": "xlsx"}) as resp:
        assert resp.status == 200
        rows = list(load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))
    assert rows[0] == ("用户名", "姓名", "角色", "负责楼栋", "启用") and ("boss", "boss", "管理员", "全部楼宇", "是") in rows
    assert {a["action"] for a in await env.site.audit.query()} >= {"accounts_export", "operators_export"}
    viewer, _ = await _viewer(env)
    async with viewer.get(f"{env.base}/admin/operators", params={"format": "xlsx"}) as resp:
        assert resp.status == 403


async def test_the_sales_report_groups_by_shop_and_never_counts_a_transfer(start_web: Any) -> None:
    """报表中心's sales by shop: each shop's sales; money moved from a wallet to a meter is no sale."""
    env, florist, noodles = await _sold(start_web)
    billing = env.core.data["billing"]
    admin = {"id": "admin", "role": "admin"}
    await billing.sales.wallet_movement(noodles, "sale", 5000, "cash", "wallet-in", Operator("admin", "admin"), "",
                                        None)  # into the wallet: received
    await billing.sell(M2, 5000, "wallet", "wallet-to-meter", admin)  # to the meter: a transfer, no revenue
    client, _ = await _viewer(env)
    async with client.get(f"{env.base}/reports", params={"kind": "sales", "group": "shop", "period": "year",
                                                          "format": "xlsx"}) as resp:
        assert resp.status == 200
        rows = list(load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))
    assert rows[0][1] == "商铺"
    by_shop = {r[1]: r for r in rows[1:-1]}
    assert by_shop[f"{florist} 一楼花店"][2:4] == (5, 50.1)  # 10.00 + 10.01 + ... + 10.04
    assert by_shop[f"{noodles} =一楼面馆"][2:4] == (3, 105)  # 25 + 30 by card, 50 into the wallet; not the transfer


async def test_an_account_history_by_date_range_paged_with_consumption_per_day(start_web: Any) -> None:
    """The account page lists the money movements of the chosen days 50 a page, sums the many consumption
    postings into one line a day, and exports both."""
    env, florist, _ = await _sold(start_web)
    billing = env.core.data["billing"]
    admin = {"id": "admin", "role": "admin"}
    for n in range(5, 52):
        await billing.sell(M1, 100, "cash", f"f{n}", admin)
    today = env.core.clock.now().replace(hour=12, minute=0, second=0, microsecond=0).timestamp()
    async with env.core.db.session() as session:  # the mirror's consumption postings: every few minutes
        for n in range(30):
            await ledger.post(session, kind="consumption", idempotency_key=f"use-{n}",
                              entries=[(f"meter:{M1}", 10), (ACCOUNT_REVENUE_ENERGY, -10)], operator=Operator("system", "system"),
                              ts=today - 86400 * (n % 3) - n, amount_fen=10, account_id=florist, meter_entity_id=M1,
                              building="b1")
    client, _ = await _viewer(env)
    async with client.get(f"{env.base}/accounts/{florist}") as resp:
        page = await resp.text()
    history = page[page.index('id="history"'):page.index("</table>", page.index('id="history"'))]
    assert history.count('<a href="/transactions/') == 50 and "用电扣费" not in history
    assert "第 1 / 2 页，共 52 条" in page and f'/accounts/{florist}?from=' in page and "hpage=2" in page
    days = page[page.index('id="consumption-days"'):]
    assert days.count("<tr><td>20") == 3 and "1.00" in days  # ten postings of 0.10 on each of three days
    async with client.get(f"{env.base}/accounts/{florist}", params={"hpage": "2"}) as resp:
        page = await resp.text()
    assert "第 2 / 2 页" in page
    async with client.get(f"{env.base}/accounts/{florist}", params={"from": "2001-01-01", "to": "2001-01-02"}) as resp:
        page = await resp.text()
    assert "第 1 / 1 页，共 0 条" in page
    async with client.get(f"{env.base}/accounts/{florist}/history.xlsx") as resp:
        assert resp.status == 200
        rows = list(load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 52 + 3
    consumption = [r for r in rows[1:] if r[2] == "用电扣费(当日合计)"]
    assert [r[4] for r in consumption] == [1, 1, 1] and all(r[0] in ("", None) for r in consumption)
    async with client.get(f"{env.base}/accounts/999999/history.xlsx") as resp:
        assert resp.status == 404
    for params, status in (({"from": "2026-02-30"}, 400), ({"to": "１２"}, 400), ({"hpage": "9" * 30}, 200),
                           ({"hpage": "-3"}, 200)):
        async with client.get(f"{env.base}/accounts/{florist}", params=params) as resp:
            assert resp.status == status, params  # a bad date is named; a page past the last shows the last
