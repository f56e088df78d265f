"""Receipts (三联单): a transaction's as PDF (inline for printing, or as a download) and as a print page, an
account's opening receipt (开户单), and the receipt layout an admin edits (收据样式)."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from scada_core.billing.const import KIND_OPENING
from scada_core.exceptions import OpenPrepayError
from scada_core.params import path_id
from scada_core.permissions import PERM_SETTINGS, PERM_VIEW


from ..receipt_layout import (
    MAX_FOOTER, MAX_TITLE, OPTIONAL_FIELDS, LayoutError, ReceiptLayout, checked_logo, checked_text,
)
from ..receipts import NO_RECEIPT, has_receipt, receipt_context, render_receipt_pdf
from ..site import Page
from .sales import billing_of

OPENING_PREFIX = "A"  # an opening that moved no money prints 开户单 No. A<account id>
PAGE_STYLESHEET = "/static/web/receipt.css"
SAMPLE = {"id": 0, "kind": "sale", "amount_fen": 12345, "receipt_no": "B1-000001", "account_id": 1,
          "building": "", "ts": 0.0, "method": "cash"}


class ReceiptPage(Page):
    """What the receipt views share: a transaction's or an account's receipt context."""

    async def transaction_context(self, request: web.Request, transaction_id: int) -> dict[str, Any]:
        """Return a transaction's receipt context (404 when it has none)."""
        billing = billing_of(self.site, request)
        try:
            tx = (await billing.transaction(transaction_id))["transaction"]
        except OpenPrepayError:
            raise web.HTTPNotFound() from None
        if not has_receipt(tx):
            raise web.HTTPNotFound(text=NO_RECEIPT)
        account = await billing.account(tx["account_id"]) if tx.get("account_id") else None
        meter = tx.get("meter_entity_id")
        return self._context(request, tx, account, tx["operator"]["id"], meter and self.site.directory.display_name(meter),
                             await billing.receipt_facts(transaction_id))

    async def opening_context(self, request: web.Request, account_id: int) -> dict[str, Any]:
        """Return an account's opening receipt (开户单): its meters, the money found on them, who opened it."""
        billing = billing_of(self.site, request)
        try:
            account = await billing.account(account_id)
        except OpenPrepayError:
            raise web.HTTPNotFound() from None
        openings = [h for h in await billing.account_history(account_id, kinds=[KIND_OPENING])
                    if h["account_id"] == account_id]
        first = openings[-1] if openings else None
        tx = {"id": account_id, "kind": KIND_OPENING, "amount_fen": sum(h["amount_fen"] for h in openings),
              "receipt_no": first["receipt_no"] if first else f"{OPENING_PREFIX}{account_id}",
              "account_id": account_id, "building": account["building"], "method": "",
              "ts": account.get("opened_ts") or (first or {}).get("ts") or 0.0}
        names = "、".join(self.site.directory.display_name(m["entity_id"]) for m in account["meters"])
        operator = first["operator"]["id"] if first else ""
        return self._context(request, tx, account, operator, names, None)

    def _context(self, request: web.Request, tx: dict[str, Any], account: dict[str, Any] | None, operator_id: str,
                 meter_name: str | None, facts: dict[str, Any] | None) -> dict[str, Any]:
        t = self.site.t(request)
        fmt = self.site.formatter(self.site.language(request))
        if account is not None:
            account = {**account, "building": self.site.building_name(account.get("building"))}
        tx = {**tx, "building": self.site.building_name(tx.get("building")) if tx.get("building") else ""}
        return {"tx": tx, "account": account, "operator_id": operator_id, "kind": t.get(f"kind_{tx['kind']}", tx["kind"]),
                "method": fmt.method(tx.get("method")), "meter": meter_name or "", "facts": facts}

    async def render_context(self, parts: dict[str, Any], layout: ReceiptLayout) -> dict[str, Any]:
        """Return the template's context of the parts ``*_context`` gathered."""
        operator = await self.site.auth.display_name(parts["operator_id"]) if parts["operator_id"] else ""
        return receipt_context(parts["tx"], parts["account"], self.core.clock.time_zone, self.core.config.name,
                               parts["kind"], operator, parts["method"], parts["meter"], parts["facts"], layout)

    async def pdf(self, request: web.Request, context: dict[str, Any]) -> web.Response:
        """Answer the receipt as a PDF, inline (for the browser's viewer) unless ``?download=1``."""
        pdf = await self.core.async_add_executor_job(render_receipt_pdf, self.site.receipts, context)
        disposition = "attachment" if request.query.get("download") == "1" else "inline"
        return web.Response(body=pdf, headers={
            "Content-Type": "application/pdf",
            "Content-Disposition": f'{disposition}; filename="receipt-{context["receipt_no"]}.pdf"'})

    def print_page(self, context: dict[str, Any], pdf_url: str, back_url: str, title: str = "") -> web.Response:
        """Answer the receipt as HTML with a print button (the toolbar does not print)."""
        html = self.site.receipts.render({**context, "stylesheet": PAGE_STYLESHEET, "print_page": True,
                                          "pdf_url": pdf_url, "back_url": back_url, "document_title": title})
        return web.Response(text=html, content_type="text/html")


class ReceiptView(ReceiptPage):
    """A transaction's three-copy receipt as PDF."""

    url = r"/receipts/{transaction_id:\d+}.pdf"
    name = "web:receipt"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Render it with WeasyPrint in a worker thread."""
        operator = self.site.require(request, PERM_VIEW)
        parts = await self.transaction_context(request, path_id(request, "transaction_id"))
        context = await self.render_context(parts, self.site.receipt_layouts.current)
        await self.site.audit.record(request, operator, "receipt_print", context["receipt_no"])
        return await self.pdf(request, context)


class ReceiptPrintView(ReceiptPage):
    """A transaction's receipt as a print page."""

    url = r"/receipts/{transaction_id:\d+}"
    name = "web:receipt_print"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Show it."""
        self.site.require(request, PERM_VIEW)
        transaction_id = path_id(request, "transaction_id")
        parts = await self.transaction_context(request, transaction_id)
        context = await self.render_context(parts, self.site.receipt_layouts.current)
        return self.print_page(context, f"/receipts/{transaction_id}.pdf", f"/transactions/{transaction_id}")


class OpeningReceiptView(ReceiptPage):
    """An account's opening receipt (开户单): as PDF with ``.pdf``, else as a print page."""

    url = r"/accounts/{account_id:\d+}/receipt{pdf:(\.pdf)?}"
    name = "web:opening_receipt"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Show or render it."""
        operator = self.site.require(request, PERM_VIEW)
        account_id = path_id(request, "account_id")
        context = await self.render_context(await self.opening_context(request, account_id),
                                            self.site.receipt_layouts.current)
        if request.match_info["pdf"]:
            await self.site.audit.record(request, operator, "receipt_print", context["receipt_no"])
            return await self.pdf(request, context)
        title = f"{self.site.t(request)['opening_receipt']} {context['receipt_no']} · {context['tenant']}"
        return self.print_page(context, f"/accounts/{account_id}/receipt.pdf", f"/accounts/{account_id}", title)


class ReceiptLayoutView(ReceiptPage):
    """收据样式: the title, footer, optional fields and logo every receipt prints with (admin)."""

    url = "/admin/receipt"
    name = "web:receipt_layout"
    site_wide = True

    async def get(self, request: web.Request) -> web.Response:
        """Show the form (``?preview=1``: a sample receipt as PDF in the layout saved)."""
        self.site.require(request, PERM_SETTINGS)
        if request.query.get("preview") == "1":
            return await self.pdf(request, self.sample(request))
        return self.page(request)

    def page(self, request: web.Request, status: int = 200, error: str | None = None,
             message: str | None = None) -> web.Response:
        """Render the form."""
        site_template = self.site.receipts.folder / "receipt.html"
        return self.site.render(request, "receipt_layout.html", status=status, layout=self.site.receipt_layouts.current,
                                optional_fields=OPTIONAL_FIELDS, error=error, message=message,
                                site_template=str(site_template) if site_template.is_file() else None,
                                max_title=MAX_TITLE, max_footer=MAX_FOOTER)

    def sample(self, request: web.Request) -> dict[str, Any]:
        """Return a sample sale's receipt context in the saved layout (the preview)."""
        t = self.site.t(request)
        tx = {**SAMPLE, "ts": self.core.clock.timestamp()}
        facts = {"before_fen": 2000, "after_fen": 14345, "price": "0.7500", "kwh": "164.60", "purchase_count": 8}
        return receipt_context(tx, {"name": t["receipt_sample_tenant"], "building": ""}, self.core.clock.time_zone,
                               self.core.config.name, t["kind_sale"], t["receipt_sample_operator"],
                               self.site.formatter(self.site.language(request)).method("cash"), "3F-0301", facts,
                               self.site.receipt_layouts.current)

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Save the layout (a new logo replaces the old one; ``remove_logo`` drops it)."""
        operator, form = await self.site.form(request, PERM_SETTINGS)
        t = self.site.t(request)
        layouts = self.site.receipt_layouts
        before = layouts.summary()
        logo, logo_type = layouts.current.logo, layouts.current.logo_type
        try:
            title = checked_text(str(form.get("title", "")), MAX_TITLE)
            footer = checked_text(str(form.get("footer", "")), MAX_FOOTER)
            upload = form.get("logo")
            if isinstance(upload, web.FileField) and upload.filename:
                logo, logo_type = await self.core.async_add_executor_job(checked_logo, upload.file.read())
            elif form.get("remove_logo") == "1":
                logo, logo_type = None, None
        except LayoutError as err:
            return self.page(request, status=400, error=t[err.key])
        fields = tuple(name for name in OPTIONAL_FIELDS if form.get(f"field_{name}") == "1")
        await layouts.save(ReceiptLayout(title, footer, fields, logo, logo_type), operator.username)
        await self.site.audit.record(request, operator, "receipt_layout", "receipt", before=before,
                                     after=layouts.summary())
        return self.page(request, message=t["receipt_layout_saved"])


RECEIPT_VIEWS = (ReceiptView, ReceiptPrintView, OpeningReceiptView, ReceiptLayoutView)
