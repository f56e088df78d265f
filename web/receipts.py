"""三联单 receipts (存根联 / 客户联 / 财务联 on one A4) as PDF through WeasyPrint, and the 大写 amount converter."""
from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import jinja2

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
BIG_UNITS = ("", "万", "亿", "万亿")
COPIES = ("存根联", "客户联", "财务联")
RECEIPT_TEMPLATE = "receipt.html"


def _yuan(value: int) -> str:
    """Write a whole number of yuan (> 0): each run of zeros between two non-zero digits becomes one 零."""
    digits = str(value)
    if len(digits) > 16:
        raise ValueError("amount too large")
    out = ""
    zero = False
    for index, char in enumerate(digits):
        position = len(digits) - 1 - index
        digit = int(char)
        if digit:
            if zero:
                out += "零"
                zero = False
            out += DIGITS[digit] + SMALL_UNITS[position % 4]
        elif out:
            zero = True
        if position % 4 == 0 and position and int(digits[max(0, index - 3):index + 1]):
            out += BIG_UNITS[position // 4]
    return out


def amount_in_words(fen: int) -> str:
    """Return an amount in fen as Chinese capital numerals: 123450 → 壹仟贰佰叁拾肆元伍角整, 5 → 伍分."""
    if fen < 0:
        return "负" + amount_in_words(-fen)
    yuan, rest = divmod(fen, 100)
    jiao, cents = divmod(rest, 10)
    if fen == 0:
        return "零元整"
    out = _yuan(yuan) + "元" if yuan else ""
    if jiao:
        out += DIGITS[jiao] + "角"
    elif cents and yuan:
        out += "零"
    if cents:
        out += DIGITS[cents] + "分"
    else:
        out += "整"
    return out


def receipt_environment(config_dir: Path, builtin: Path) -> jinja2.Environment:
    """Return the Jinja2 environment of receipts: <config>/templates/ overrides the built-in template."""
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(config_dir / "templates"), jinja2.FileSystemLoader(builtin)]),
        autoescape=True,
    )


def receipt_context(
    transaction: dict[str, Any], account: dict[str, Any] | None, tz: tzinfo, site_name: str, kind_label: str,
    operator_name: str,
) -> dict[str, Any]:
    """Return what a receipt prints."""
    amount = abs(int(transaction["amount_fen"]))
    return {
        "site_name": site_name,
        "kind": kind_label,
        "receipt_no": transaction.get("receipt_no") or f"T{transaction['id']}",
        "building": transaction.get("building") or (account or {}).get("building") or "",
        "tenant": (account or {}).get("name") or "",
        "account_id": transaction.get("account_id") or "",
        "meter": transaction.get("meter_entity_id") or "",
        "amount": f"{amount // 100}.{amount % 100:02d}",
        "amount_words": amount_in_words(amount),
        "method": transaction.get("method") or "",
        "operator": operator_name,
        "time": datetime.fromtimestamp(transaction["ts"], tz).strftime("%Y-%m-%d %H:%M:%S"),
        "copies": COPIES,
    }


def render_receipt_pdf(env: jinja2.Environment, context: dict[str, Any]) -> bytes:
    """Render the three-copy receipt to PDF bytes (blocking: call it in an executor)."""
    from weasyprint import HTML  # noqa: PLC0415 - heavy import, only when a receipt is printed

    return HTML(string=env.get_template(RECEIPT_TEMPLATE).render(**context)).write_pdf()
