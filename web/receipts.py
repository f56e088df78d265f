"""三联单 receipts (存根联 / 客户联 / 财务联 on one A4) as PDF through WeasyPrint, and the 大写 amount converter."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
import logging
from pathlib import Path
from typing import Any

import jinja2

from scada_core.billing.const import RECEIPT_KINDS

from .receipt_layout import ReceiptLayout

_LOGGER = logging.getLogger(__name__)

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
BIG_UNITS = ("", "万", "亿", "万亿")
COPIES = ("存根联", "客户联", "财务联")
RECEIPT_TEMPLATE = "receipt.html"
STYLESHEET = Path(__file__).resolve().parent / "static" / "receipt.css"  # the PDF reads it from disk
SITE_TEMPLATES = "templates"  # the folder of a site's own templates, in its configuration folder
NO_RECEIPT = "此类交易不出收据 / no receipt is printed for this kind of transaction"
BUILT_IN_LAYOUT = ReceiptLayout()  # every field, no logo: until an admin saves a layout
UNKNOWN = "—"  # a value an old or special transaction does not have
UNNUMBERED_PREFIX = "T"  # a receipt stored before every receipt kind was numbered prints T<transaction id>


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


def has_receipt(transaction: Mapping[str, Any]) -> bool:
    """Tell whether a transaction is one a receipt is printed for."""
    return transaction.get("kind") in RECEIPT_KINDS


def receipt_no(transaction: Mapping[str, Any]) -> str:
    """Return the receipt number a transaction prints (T<id> for one stored before it would have been numbered)."""
    return transaction.get("receipt_no") or f"{UNNUMBERED_PREFIX}{transaction['id']}"


def add_receipt_helpers(env: jinja2.Environment) -> None:
    """Give page templates ``tx is receipt`` and ``tx|receipt_no``."""
    env.tests["receipt"] = has_receipt
    env.filters["receipt_no"] = receipt_no


class ReceiptTemplates:
    """The receipt template: the site's <config>/templates/receipt.html when it has one, else the built-in one."""

    def __init__(self, config_dir: Path, builtin: Path) -> None:
        self.folder = config_dir / SITE_TEMPLATES
        self.builtin = jinja2.Environment(loader=jinja2.FileSystemLoader(builtin), autoescape=True)
        # No template cache: the site's template is read at each print, so one added, edited or removed shows on
        # the next receipt without a restart (Jinja2's mtime check misses a template added after the first print;
        # compiling costs little next to WeasyPrint's layout).
        self.site = jinja2.Environment(
            loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(self.folder), self.builtin.loader]),
            autoescape=True,
            cache_size=0,
        )

    def render(self, context: Mapping[str, Any]) -> str:
        """Return the receipt's HTML; a broken site template is logged and the built-in one prints instead."""
        try:
            return self.site.get_template(RECEIPT_TEMPLATE).render(**context)
        except (jinja2.TemplateError, UnicodeDecodeError, OSError) as err:
            where = f"{self.folder / RECEIPT_TEMPLATE}" + (
                f", line {err.lineno}" if isinstance(err, jinja2.TemplateSyntaxError) else ""
            )
            _LOGGER.error("The receipt template %s is broken (%s); printing the built-in receipt", where, err)
            return self.builtin.get_template(RECEIPT_TEMPLATE).render(**context)


def receipt_context(
    transaction: dict[str, Any], account: dict[str, Any] | None, tz: tzinfo, site_name: str, kind_label: str,
    operator_name: str, method_name: str = "", meter_name: str = "", facts: Mapping[str, Any] | None = None,
    layout: ReceiptLayout = BUILT_IN_LAYOUT,
) -> dict[str, Any]:
    """Return what a receipt prints (the method and meter as people call them, when the caller knows; ``facts``:
    the money before and after, the price, kWh and purchase count billing states for it; "—" where unknown)."""
    amount = abs(int(transaction["amount_fen"]))
    facts = facts or {}
    return {
        "site_name": site_name,
        "kind": kind_label,
        "title": layout.title or f"{site_name} {kind_label}收据",
        "layout": layout,
        "receipt_no": receipt_no(transaction),
        "building": transaction.get("building") or (account or {}).get("building") or "",
        "tenant": (account or {}).get("name") or "",
        "account_id": transaction.get("account_id") or "",
        "meter": meter_name or transaction.get("meter_entity_id") or "",
        "amount": _yuan_text(amount),
        "amount_words": amount_in_words(amount),
        "method": method_name or transaction.get("method") or "",
        "balance_before": _yuan_text(facts.get("before_fen")),
        "balance_after": _yuan_text(facts.get("after_fen")),
        "price": f"{facts['price']} 元/kWh" if facts.get("price") else UNKNOWN,
        "kwh": f"{facts['kwh']} kWh" if facts.get("kwh") else UNKNOWN,
        "purchase_count": UNKNOWN if facts.get("purchase_count") is None else str(facts["purchase_count"]),
        "operator": operator_name,
        "time": datetime.fromtimestamp(transaction["ts"], tz).strftime("%Y-%m-%d %H:%M:%S"),
        "copies": COPIES,
    }


def _yuan_text(fen: int | None) -> str:
    """Return fen as yuan with two decimals (— when unknown)."""
    if fen is None:
        return UNKNOWN
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def render_receipt_pdf(templates: ReceiptTemplates, context: dict[str, Any]) -> bytes:
    """Render the three-copy receipt to PDF bytes (blocking: call it in an executor)."""
    from weasyprint import HTML  # noqa: PLC0415 - heavy import, only when a receipt is printed

    return HTML(string=templates.render({**context, "stylesheet": STYLESHEET.as_uri()})).write_pdf()
