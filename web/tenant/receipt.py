"""A tenant's receipt for one payment as PDF (WeasyPrint; CJK font from the system)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import jinja2

from integrations.alipay.money import fen_to_yuan


def receipt_context(transaction: dict[str, Any], account: dict[str, Any], tz: Any) -> dict[str, Any]:
    """Return the fields printed on a receipt."""
    return {
        "receipt_no": transaction.get("receipt_no") or f"T{transaction['id']}",
        "building": transaction.get("building") or account.get("building"),
        "tenant": account.get("name"),
        "account_id": account.get("id"),
        "meter": transaction.get("meter_entity_id") or "—",
        "amount": fen_to_yuan(int(transaction["amount_fen"])),
        "method": transaction.get("method"),
        "reference": transaction.get("reference") or "",
        "time": datetime.fromtimestamp(transaction["ts"], tz).strftime("%Y-%m-%d %H:%M:%S"),
        "kind": transaction.get("kind"),
    }


def render_pdf(env: jinja2.Environment, context: dict[str, Any]) -> bytes:
    """Render the receipt to PDF bytes (blocking: call it in an executor)."""
    from weasyprint import HTML  # noqa: PLC0415 - heavy import, only when a receipt is asked for

    html = env.get_template("receipt_pdf.html").render(**context)
    return HTML(string=html).write_pdf()
