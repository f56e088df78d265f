"""The 大写 converter and the three-copy receipt PDF."""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import update

from scada_core.billing import ledger
from scada_core.billing.const import ACCOUNT_ADJUSTMENT, KIND_ADJUSTMENT
from scada_core.billing.models import TransactionRow

from web.receipts import ReceiptTemplates, amount_in_words, receipt_context, render_receipt_pdf

from .conftest import WebEnv
from .test_sales import M1, open_account

BUILTIN = Path(__file__).resolve().parents[2] / "web" / "templates"


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (123450, "壹仟贰佰叁拾肆元伍角整"),
        (5, "伍分"),
        (10007, "壹佰元零柒分"),
        (0, "零元整"),
        (100, "壹元整"),
        (1000, "壹拾元整"),
        (100100, "壹仟零壹元整"),
        (101000, "壹仟零壹拾元整"),
        (10000000, "壹拾万元整"),
        (10000100, "壹拾万零壹元整"),
        (100500000, "壹佰万零伍仟元整"),
        (10500000, "壹拾万零伍仟元整"),
        (100000000000000, "壹万亿元整"),
        (1000000000000, "壹佰亿元整"),
        (10000100000, "壹亿零壹仟元整"),
        (2030000000, "贰仟零叁拾万元整"),
        (120, "壹元贰角整"),
        (1234, "壹拾贰元叁角肆分"),
        (50, "伍角整"),
        (55, "伍角伍分"),
        (-250, "负贰元伍角整"),
        (10000000005, "壹亿元零伍分"),
    ],
)
def test_amount_in_words(fen: int, words: str) -> None:
    """Capital numerals follow the 零 rules of Chinese financial writing."""
    assert amount_in_words(fen) == words


@pytest.mark.timeout(60)
def test_receipt_pdf_has_three_copies_and_amounts(tmp_path: Path) -> None:
    """The PDF holds all three copies, the amount in figures and 大写, and a site template overrides ours."""
    tx = {"id": 7, "receipt_no": "B1-000007", "building": "b1", "account_id": 3, "meter_entity_id": "acrel_dtsy1352.m1",
          "amount_fen": 123450, "method": "cash", "ts": 1_750_000_000}
    context = receipt_context(tx, {"name": "张三商店", "building": "b1"}, ZoneInfo("Asia/Shanghai"), "演示大厦",
                              "售电", "cashier1")
    pdf = render_receipt_pdf(ReceiptTemplates(tmp_path, BUILTIN), context)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("存根联", "客户联", "财务联", "1234.50", "壹仟贰佰叁拾肆元伍角整", "B1-000007", "张三商店"):
        assert expected in text, expected
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "receipt.html").write_text("<p>自定义 {{ receipt_no }} {{ amount_words }}</p>", "utf-8")
    custom = render_receipt_pdf(ReceiptTemplates(tmp_path, BUILTIN), context)
    custom_text = PdfReader(io.BytesIO(custom)).pages[0].extract_text()
    assert "自定义 B1-000007 壹仟贰佰叁拾肆元伍角整" in custom_text


def pdf_receipt_numbers(pdf: bytes) -> set[str]:
    """Return every receipt number printed on a receipt PDF (each of its three copies prints one)."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return set(re.findall(r"No\.\s*(\S+)", text))


@pytest.mark.timeout(120)
async def test_opening_and_sales_share_one_gap_free_receipt_sequence(start_web: Any) -> None:
    """Money found on a meter at opening and the sales after it are numbered b1-1, 2, 3: PDF and page agree."""
    env: WebEnv = await start_web(units=1)
    assert env.sim is not None
    env.sim.meters[1].remaining_fen = 2345  # left on the meter by its previous tenant
    await env.operator("clerk", "cashier")
    client, csrf = await env.login("clerk")
    account_id = await open_account(env, client, csrf, M1)
    opening = await env.site.billing.account_history(account_id, kinds=["opening"])
    assert [tx["amount_fen"] for tx in opening] == [2345]
    transactions = [opening[0]["id"]]
    for key, amount in (("s-1", "10.00"), ("s-2", "20.00")):
        form = {"csrf": csrf, "meter": M1, "kind": "sale", "amount": amount, "method": "cash", "key": key,
                "confirmed": "1"}
        async with client.post(env.base + "/sell", data=form) as resp:
            assert resp.status == 200
            transactions.append(int(str(resp.url).rsplit("/", 1)[1]))
    assert env.sim.meters[1].remaining_fen == 2345 + 3000
    expected = [f"b1-{n:08d}" for n in (1, 2, 3)]
    on_pages, on_pdfs = [], []
    for transaction_id in transactions:
        async with client.get(env.base + f"/transactions/{transaction_id}") as resp:
            page = await resp.text()
        cell = re.search(r'id="receipt-no">([^<]*)<', page)
        assert cell is not None and f'href="/receipts/{transaction_id}.pdf"' in page
        on_pages.append(cell.group(1))
        async with client.get(env.base + f"/receipts/{transaction_id}.pdf") as resp:
            assert resp.status == 200
            on_pdfs.append(pdf_receipt_numbers(await resp.read()))
    assert on_pages == expected
    assert on_pdfs == [{number} for number in expected]
    async with client.get(env.base + f"/accounts/{account_id}") as resp:
        history = await resp.text()
    assert all(number in history for number in expected)


@pytest.mark.timeout(60)
async def test_unnumbered_transaction_shows_one_fallback_everywhere(start_web: Any) -> None:
    """A receipt-printing transaction stored before numbering shows the same stand-in on page, PDF and history."""
    env: WebEnv = await start_web(units=1)
    assert env.sim is not None
    env.sim.meters[1].remaining_fen = 500
    await env.operator("clerk", "cashier")
    client, csrf = await env.login("clerk")
    account_id = await open_account(env, client, csrf, M1)
    opening = (await env.site.billing.account_history(account_id, kinds=["opening"]))[0]
    async with env.site.db.session() as session:  # as an opening of an older version was stored
        await session.execute(update(TransactionRow).where(TransactionRow.id == opening["id"])
                              .values(receipt_seq=None, receipt_no=None))
    fallback = f"T{opening['id']}"
    async with client.get(env.base + f"/transactions/{opening['id']}") as resp:
        assert resp.status == 200 and f'id="receipt-no">{fallback}<' in await resp.text()
    async with client.get(env.base + f"/receipts/{opening['id']}.pdf") as resp:
        assert resp.status == 200 and pdf_receipt_numbers(await resp.read()) == {fallback}
    async with client.get(env.base + f"/accounts/{account_id}") as resp:
        assert fallback in await resp.text()
    async with env.site.db.session() as session:  # a meter correction: no receipt, no number
        adjustment = await ledger.post(
            session, kind=KIND_ADJUSTMENT, idempotency_key="adjust-1", entries=[(ACCOUNT_ADJUSTMENT, 1),
            (ledger.meter_account(M1), -1)], operator=ledger.Operator("system", "system"), ts=opening["ts"],
            amount_fen=1, account_id=account_id, meter_entity_id=M1, building="b1")
    assert adjustment.receipt_no is None
    async with client.get(env.base + f"/transactions/{adjustment.id}") as resp:
        page = await resp.text()
        assert 'id="receipt-no">—<' in page and "/receipts/" not in page
    async with client.get(env.base + f"/receipts/{adjustment.id}.pdf") as resp:
        assert resp.status == 404 and "no receipt" in await resp.text()


@pytest.mark.timeout(90)
async def test_site_receipt_template_is_read_at_each_print(start_web: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A template added, changed or broken in <config>/templates/ shows on the next print, without a restart;
    a broken one prints the built-in receipt and logs the file and line."""
    env: WebEnv = await start_web(units=1)
    assert env.sim is not None
    env.sim.meters[1].remaining_fen = 800
    await env.operator("clerk", "cashier")
    client, csrf = await env.login("clerk")
    account_id = await open_account(env, client, csrf, M1)
    opening = (await env.site.billing.account_history(account_id, kinds=["opening"]))[0]

    async def printed() -> str:
        async with client.get(env.base + f"/receipts/{opening['id']}.pdf") as resp:
            assert resp.status == 200
            return "".join(page.extract_text() for page in PdfReader(io.BytesIO(await resp.read())).pages)

    assert "存根联" in await printed()
    folder = env.core.config.config_dir / "templates"
    folder.mkdir()
    template = folder / "receipt.html"
    template.write_text("<p>第一版 {{ amount_words }}</p>", "utf-8")
    assert "第一版 捌元整" in await printed()
    template.write_text("<p>第二版 {{ amount_words }}</p>", "utf-8")
    assert "第二版 捌元整" in await printed()
    template.write_text("<p>第三版</p>\n{% if %}", "utf-8")
    caplog.clear()
    text = await printed()
    assert "存根联" in text and "捌元整" in text and "第三版" not in text
    assert any("receipt.html" in r.getMessage() and "line 2" in r.getMessage() for r in caplog.records
               if r.levelname == "ERROR"), [r.getMessage() for r in caplog.records]
    template.unlink()
    assert "存根联" in await printed()
