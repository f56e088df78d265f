"""The 大写 converter and the three-copy receipt PDF."""
from __future__ import annotations

import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from web.receipts import amount_in_words, receipt_context, receipt_environment, render_receipt_pdf

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
    pdf = render_receipt_pdf(receipt_environment(tmp_path, BUILTIN), context)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("存根联", "客户联", "财务联", "1234.50", "壹仟贰佰叁拾肆元伍角整", "B1-000007", "张三商店"):
        assert expected in text, expected
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "receipt.html").write_text("<p>自定义 {{ receipt_no }} {{ amount_words }}</p>", "utf-8")
    custom = render_receipt_pdf(receipt_environment(tmp_path, BUILTIN), context)
    custom_text = PdfReader(io.BytesIO(custom)).pages[0].extract_text()
    assert "自定义 B1-000007 壹仟贰佰叁拾肆元伍角整" in custom_text
