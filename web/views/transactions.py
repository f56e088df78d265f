"""交易查询: every transaction across accounts, found by date, kind, method, operator, shop and receipt number,
a page at a time on screen or all of them as a streamed .xlsx."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from scada_core.billing.search import TransactionQuery
from scada_core.params import parse_id
from scada_core.permissions import PERM_REPORTS, PERM_VIEW
from scada_core.reports.table import yuan

from ..const import EXPORT_BATCH, TRANSACTION_PAGE_SIZE
from ..scoping import request_scope
from ..site import Page
from ..xlsx_download import send_xlsx

FILTERS = ("kind", "method", "operator", "shop", "receipt")
COLUMNS = ("col_txn", "col_time", "col_kind", "col_shop", "col_meter", "col_money", "col_method", "col_operator",
           "receipt_no")


class TransactionsView(Page):
    """Find transactions; ?format=xlsx exports everything the filters find."""

    url = "/transactions"
    name = "web:transactions"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Show a page of the matches, or send them all as .xlsx."""
        operator = self.site.require(request, PERM_VIEW)
        billing = self.site.billing
        if billing is None:
            raise web.HTTPNotFound(text="billing is not configured")
        q = request.query
        start, end, since, until = self.site.day_range(request, "start", "end",
                                                       self.core.clock.now().date().replace(day=1))
        wanted = {name: (q.get(name) or "").strip() or None for name in FILTERS}
        query = TransactionQuery(since=since, until=until, kind=wanted["kind"], method=wanted["method"],
                                 operator=wanted["operator"], shop=wanted["shop"], receipt_no=wanted["receipt"],
                                 buildings=scope.buildings if (scope := request_scope(request)) else None)
        t = self.site.t(request)
        if q.get("format") == "xlsx":
            self.site.require(request, PERM_REPORTS)
            await self.site.audit.record(request, operator, "transactions_export", f"{start}..{end}",
                                         after={k: v for k, v in wanted.items() if v})
            return await send_xlsx(request, self.core, f"transactions-{start}-{end}.xlsx", t["nav_transactions"],
                                   [t[c] for c in COLUMNS], self._sheet_rows(request, query))
        page = max(1, parse_id(q.get("page", "1")) or 1)
        rows, count = await billing.find_transactions(query, TRANSACTION_PAGE_SIZE,
                                                      (page - 1) * TRANSACTION_PAGE_SIZE)
        pages = max(1, -(-count // TRANSACTION_PAGE_SIZE))
        kinds = sorted({k[5:] for k in t if k.startswith("kind_")})
        unpaged = {k: v for k, v in q.items() if k != "page"}
        return self.site.render(request, "transactions.html", rows=rows, q=q, start=start, end=end, kinds=kinds,
                                methods=list(billing.methods), page=min(page, pages), pages=pages, count=count,
                                query=urlencode(unpaged))

    async def _sheet_rows(self, request: web.Request, query: TransactionQuery) -> AsyncIterator[list[list[Any]]]:
        """The export's rows in the page's language, a database batch at a time."""
        t = self.site.t(request)
        language = self.site.language(request)
        fmt = self.site.formatter(language)
        async for batch in self.site.billing.transaction_batches(query, EXPORT_BATCH):
            yield [[row["id"], fmt.when(row["ts"], seconds=True), t[f"kind_{row['kind']}"], row["shop"] or "",
                    self.site.directory.display_name(row["meter_entity_id"]) if row["meter_entity_id"] else "",
                    yuan(row["amount_fen"]), self.site.method_name(row["method"], language), row["operator"]["id"],
                    row["receipt_no"] or ""] for row in batch]


TRANSACTION_VIEWS = (TransactionsView,)
