"""An account's history on its page: the money that moved (sales, refunds, transfers...) in a date range a page at
a time, and what its meters used up summed per day (the consumption postings come every few minutes: one line a
day reads, a thousand do not)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from scada_core.params import parse_id
from scada_core.reports.queries import day_bounds
from scada_core.reports.table import yuan

from .const import ACCOUNT_HISTORY_DAYS, ACCOUNT_HISTORY_PAGE_SIZE
from .meter_history import MONEY_KINDS

if TYPE_CHECKING:
    from .site import DayRange, WebSite


@dataclass
class AccountHistory:
    """One page of an account's money movements and its daily consumption over the same days."""

    start: date
    end: date
    rows: list[dict[str, Any]]
    daily: list[tuple[date, int]]  # newest first
    page: int
    pages: int
    count: int
    query: str  # the range as a query string, for the pager and the export


def history_range(site: WebSite, request: web.Request) -> DayRange:
    """Return the days the request asks for (``from``/``to``; the last ACCOUNT_HISTORY_DAYS by default)."""
    today = site.core.clock.now().date()
    return site.day_range(request, "from", "to", today - timedelta(days=ACCOUNT_HISTORY_DAYS - 1))


async def account_history(site: WebSite, request: web.Request, account_id: int) -> AccountHistory:
    """Return the page of the account's history the request asks for (``hpage``)."""
    billing = site.billing
    start, end, since, until = history_range(site, request)
    count = await billing.account_history_count(account_id, MONEY_KINDS, since, until)
    pages = max(1, -(-count // ACCOUNT_HISTORY_PAGE_SIZE))
    page = min(max(1, parse_id(request.query.get("hpage", "1")) or 1), pages)
    rows = await billing.account_history(account_id, ACCOUNT_HISTORY_PAGE_SIZE, MONEY_KINDS,
                                         (page - 1) * ACCOUNT_HISTORY_PAGE_SIZE, since, until)
    spent = await billing.spent_by_day(account_id, since, until_ts=until)
    return AccountHistory(start, end, rows, sorted(spent.items(), reverse=True), page, pages, count,
                          urlencode({"from": start.isoformat(), "to": end.isoformat()}))


async def history_rows(site: WebSite, request: web.Request, account_id: int) -> list[list[Any]]:
    """Return the export's rows: every money movement of the range and one line per day of consumption, newest
    first (one account's range: held at once)."""
    billing = site.billing
    t = site.t(request)
    language = site.language(request)
    fmt = site.formatter(language)
    _start, _end, since, until = history_range(site, request)
    count = await billing.account_history_count(account_id, MONEY_KINDS, since, until)
    moved = await billing.account_history(account_id, max(count, 1), MONEY_KINDS, 0, since, until)
    spent = await billing.spent_by_day(account_id, since, until_ts=until)
    lines: list[tuple[float, list[Any]]] = [
        (row["ts"], [
            row["id"], fmt.when(row["ts"], seconds=True), t[f"kind_{row['kind']}"],
            site.directory.display_name(row["meter_entity_id"]) if row["meter_entity_id"] else "",
            yuan(row["amount_fen"]), site.method_name(row["method"], language), row["operator"]["id"],
            row["receipt_no"] or "",
        ])
        for row in moved
    ]
    lines += [(day_bounds(day, day, site.offset_s)[1], ["", day.isoformat(), t["consumption_day"], "", yuan(fen),
                                                        "", "", ""])
              for day, fen in spent.items()]
    return [line for _ts, line in sorted(lines, key=lambda pair: pair[0], reverse=True)]
