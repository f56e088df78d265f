"""Accounts and sales: open/close accounts, sell/refund with a confirmation step, reversal, meter replacement, receipts."""
from __future__ import annotations

import uuid
from urllib.parse import quote
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from scada_core.billing.const import METHOD_WALLET, METHODS
from scada_core.billing.tariffs import price_now
from scada_core.exceptions import OpenPrepayError
from scada_core.http import scoped_rows
from scada_core.params import path_id
from scada_core.permissions import (
    PERM_ACCOUNT,
    PERM_REFUND,
    PERM_REPORTS,
    PERM_REVERSE,
    PERM_SELL,
    PERM_SETTINGS,
    PERM_VIEW,
)
from scada_core.reports.table import yuan

from ..account_history import account_history, history_rows
from ..const import QUICK_AMOUNTS_YUAN
from ..counter_search import MAX_QUERY, find_meters
from ..receipts import amount_in_words
from ..site import Page, WebSite
from ..xlsx_download import at_hand, send_xlsx

# What the credit policy form changes, as the audit log records it (a meter's rows add its thresholds).
CREDIT_POLICY_KEYS = (
    "overdraft_fen", "credit_cap_fen", "alarm1_fen", "alarm2_fen", "overload_w", "effective_overdraft_fen",
    "effective_credit_cap_fen", "effective_alarm1_fen", "effective_alarm2_fen", "effective_overload_w",
)
KINDS = ("sale", "refund")
KIND_PERMISSIONS = {"sale": PERM_SELL, "refund": PERM_REFUND}


def methods_of(kind: str) -> tuple[str, ...]:
    """Return the payment methods of a sale (also from the wallet) or a refund."""
    return (*METHODS, METHOD_WALLET) if kind == "sale" else METHODS


def parse_yuan(text: str) -> int | None:
    """Return a positive amount in fen from '123.45', or None when it is not one."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    # the range first: quantizing a number with more digits than the context holds raises
    if not value.is_finite() or value <= 0 or value > 10**8 or value != value.quantize(Decimal("0.01")):
        return None
    return int(value * 100)


def error_text(err: Exception, language: str) -> str:
    """Return a billing/field error in the page's language."""
    message = getattr(err, "message", None)
    return message(language) if callable(message) else str(err)


def billing_of(site: WebSite, request: web.Request) -> Any:
    """Return billing or answer 503 with a clear message."""
    if site.billing is None:
        raise web.HTTPServiceUnavailable(text=site.t(request)["err_no_billing"])
    return site.billing


class AccountsView(Page):
    """Every account, and the form to open one."""

    url = "/accounts"
    name = "web:accounts"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """List accounts (search by name, phone or meter); ?format=xlsx exports the list found."""
        operator = self.site.require(request, PERM_VIEW)
        billing = billing_of(self.site, request)
        query = request.query.get("q", "").strip()
        accounts = scoped_rows(request, await billing.accounts(), lambda account: account["building"])
        if query:
            accounts = [a for a in accounts if query in a["name"] or query in (a.get("phone") or "")
                        or any(query in m["entity_id"] for m in a["meters"]) or query == str(a["id"])]
        if request.query.get("format") == "xlsx":
            self.site.require(request, PERM_REPORTS)
            await self.site.audit.record(request, operator, "accounts_export", query, after={"rows": len(accounts)})
            return await self._export(request, accounts)
        return self.site.render(request, "accounts.html", accounts=accounts, q=query, key=uuid.uuid4().hex,
                                meter=self._meter_name(request.query.get("meter", "")), error=None)

    async def _export(self, request: web.Request, accounts: list[dict[str, Any]]) -> web.StreamResponse:
        t = self.site.t(request)
        rows = [[a["id"], a["name"], a.get("phone") or "", self.site.building_name(a["building"]),
                 "、".join(self.site.directory.display_name(m["entity_id"]) for m in a["meters"]),
                 t["acct_" + a["status"]], yuan(a.get("wallet_fen"))] for a in accounts]
        columns = [t[c] for c in ("col_account", "tenant", "phone", "col_building", "col_meters", "status", "wallet")]
        return await send_xlsx(request, self.core, "accounts.xlsx", t["nav_accounts"], columns, at_hand(rows))

    def _meter_name(self, entity_id: str) -> str:
        """Return how the opening form names a meter the page was opened for (its display name when known)."""
        known = entity_id in self.site.directory.meter_ids()
        return self.site.directory.display_name(entity_id) if known else ""


class AccountView(Page):
    """One account: meters, money, history, close and replacement forms."""

    url = r"/accounts/{account_id:\d+}"
    name = "web:account"

    async def get(self, request: web.Request) -> web.Response:
        """Show it."""
        return await self.account_page(request, error=request.query.get("error"))

    async def account_page(self, request: web.Request, **shown: Any) -> web.Response:
        """Render the account of the request's path (``shown``: a notice or error for this rendering only)."""
        operator = self.site.require(request, PERM_VIEW)
        billing = billing_of(self.site, request)
        account_id = path_id(request, "account_id")
        try:
            account = await billing.account(account_id)
        except OpenPrepayError:
            raise web.HTTPNotFound(text=f"account {account_id}") from None
        history = await account_history(self.site, request, account_id)
        credit = None
        if operator.may(PERM_SETTINGS) and account["status"] == "open":
            credit = {"account": await billing.account_credit(account_id),
                      "meters": [await billing.meter_credit(m["entity_id"]) for m in account["meters"]]}
        topup = await billing.topup_rule(account_id) if account["status"] == "open" else None
        tenant = self.site.tenant_logins()
        tenant_login = await tenant.login_state(account_id) if tenant is not None else None
        return self.site.render(request, "account.html", account=account, history=history, key=uuid.uuid4().hex,
                                credit=credit, topup=topup, tenant_login=tenant_login,
                                categories=await billing.load_categories(),
                                meter_categories=await billing.meter_categories(), **shown)


class AccountHistoryExportView(Page):
    """An account's history over the page's date range as .xlsx: money movements and consumption per day."""

    url = r"/accounts/{account_id:\d+}/history.xlsx"
    name = "web:account_history_export"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Send it (audited)."""
        operator = self.site.require(request, PERM_REPORTS)
        billing = billing_of(self.site, request)
        account_id = path_id(request, "account_id")
        try:
            await billing.account_summary(account_id)  # an account that exists
        except OpenPrepayError:
            raise web.HTTPNotFound(text=f"account {account_id}") from None
        rows = await history_rows(self.site, request, account_id)
        await self.site.audit.record(request, operator, "account_history_export", f"account {account_id}",
                                     after={"rows": len(rows), "range": request.query_string})
        t = self.site.t(request)
        columns = [t[c] for c in ("col_txn", "col_time", "col_kind", "col_meter", "col_money", "col_method",
                                  "col_operator", "receipt_no")]
        return await send_xlsx(request, self.core, f"account-{account_id}.xlsx", t["history"], columns,
                               at_hand(rows))


def parse_optional_yuan(text: str) -> int | None:
    """Return fen from '12.30' or '0'; None for an empty field; raise ValueError for anything else."""
    text = text.strip()
    if not text:
        return None
    if text in ("0", "0.0", "0.00"):
        return 0
    fen = parse_yuan(text)
    if fen is None:
        raise ValueError(text)
    return fen


def parse_optional_watts(text: str) -> int | None:
    """Return whole watts from '1000'; None for an empty field; raise ValueError for anything else."""
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= 10**9:
        raise ValueError(text)
    return int(text)


class AccountCreditView(Page):
    """Admin: an account's (or one of its meters') overdraft and credit cap (透支/囤积限值), and a meter's alarm
    levels and overload limit (报警1/报警2/过载功率)."""

    url = r"/accounts/{account_id:\d+}/credit"
    name = "web:account_credit"

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Set the policy; an empty field follows the level above (meter: account, thresholds: building;
        account: building)."""
        operator, form = await self.site.form(request, PERM_SETTINGS)
        billing = billing_of(self.site, request)
        account_id = path_id(request, "account_id")
        meter = str(form.get("meter", "")).strip()
        target = meter or f"account {account_id}"
        try:
            overdraft = parse_optional_yuan(str(form.get("overdraft", "")))
            cap = parse_optional_yuan(str(form.get("cap", "")))
            alarm1 = parse_optional_yuan(str(form.get("alarm1", "")))
            alarm2 = parse_optional_yuan(str(form.get("alarm2", "")))
            overload = parse_optional_watts(str(form.get("overload", "")))
        except ValueError:
            raise web.HTTPFound(f"/accounts/{account_id}?error={quote(self.site.t(request)['err_amount'])}") from None
        try:
            if meter:
                if meter not in {m["entity_id"] for m in (await billing.account_summary(account_id))["meters"]}:
                    raise web.HTTPNotFound(text=f"{meter} is not a meter of account {account_id}")
                before = await billing.meter_credit(meter)
                await billing.set_meter_thresholds(meter, operator.billing_operator(), alarm1, alarm2, overload)
                after = await billing.set_meter_credit(meter, operator.billing_operator(), overdraft, cap)
            else:
                before = await billing.account_credit(account_id)
                after = await billing.set_account_credit(account_id, operator.billing_operator(), overdraft, cap)
        except OpenPrepayError as err:
            await self.site.audit.record(request, operator, "credit_policy", target, after={"error": str(err)},
                                         ok=False)
            raise web.HTTPFound(
                f"/accounts/{account_id}?error={quote(error_text(err, self.site.language(request)))}") from None
        keep = [k for k in CREDIT_POLICY_KEYS if k in after]
        await self.site.audit.record(request, operator, "credit_policy", target,
                                     before={k: before[k] for k in keep}, after={k: after[k] for k in keep})
        self.site.grid.invalidate()
        raise web.HTTPFound(f"/accounts/{account_id}")


def form_shares(form: Any, meters: list[str]) -> dict[str, int]:
    """Return the whole percentages the form gives the account's meters (fields ``share:<meter>``); raise
    ValueError for anything that is not one."""
    shares: dict[str, int] = {}
    for entity_id in meters:
        text = str(form.get(f"share:{entity_id}", "")).strip() or "0"
        if not text.isascii() or not text.isdigit() or len(text) > 3:
            raise ValueError(text)
        shares[entity_id] = int(text)
    return shares


class AccountTopUpRuleView(Page):
    """Staff: where the account's online and kiosk top-ups go (the meter with the least money, or shares)."""

    url = r"/accounts/{account_id:\d+}/topup_rule"
    name = "web:account_topup_rule"

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Set the rule, audited with before and after."""
        operator, form = await self.site.form(request, PERM_ACCOUNT)
        billing = billing_of(self.site, request)
        account_id = path_id(request, "account_id")
        rule = str(form.get("rule", ""))
        back = f"/accounts/{account_id}"
        try:
            before = await billing.topup_rule(account_id)
            meters = [m["entity_id"] for m in (await billing.account_summary(account_id))["meters"]]
            shares = form_shares(form, meters) if rule == "shares" else None
            after = await billing.set_topup_rule(account_id, rule, shares, operator.billing_operator())
        except ValueError:
            raise web.HTTPFound(f"{back}?error={quote(self.site.t(request)['err_amount'])}") from None
        except OpenPrepayError as err:
            await self.site.audit.record(request, operator, "topup_rule", f"account {account_id}",
                                         after={"rule": rule, "error": str(err)}, ok=False)
            raise web.HTTPFound(f"{back}?error={quote(error_text(err, self.site.language(request)))}") from None
        await self.site.audit.record(request, operator, "topup_rule", f"account {account_id}", before=before,
                                     after=after)
        raise web.HTTPFound(back)


class AccountActionView(Page):
    """Close an account (销户) or replace one of its meters (换表)."""

    url = r"/accounts/{account_id:\d+}/{action:close|replace}"
    name = "web:account_action"

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Run it (the form's idempotency key makes a repeat harmless)."""
        operator, form = await self.site.form(request, PERM_ACCOUNT)
        billing = billing_of(self.site, request)
        account_id = path_id(request, "account_id")
        action = request.match_info["action"]
        key = str(form.get("key", ""))
        before = await billing.account(account_id)
        try:
            if action == "close":
                result = await billing.close_account(account_id, operator.billing_operator(), key,
                                                     method=str(form.get("method", "cash")))
            else:
                remaining = str(form.get("remaining", "")).strip()
                dead_fen = 0 if remaining in ("0", "0.00") else parse_yuan(remaining) if remaining else None
                if remaining and dead_fen is None:
                    raise web.HTTPFound(f"/accounts/{account_id}?error={quote(self.site.t(request)['err_amount'])}")
                result = await billing.replace_meter(
                    str(form.get("old", "")), str(form.get("new", "")).strip(), operator.billing_operator(), key,
                    remaining_fen=dead_fen)
        except OpenPrepayError as err:
            await self.site.audit.record(request, operator, f"account_{action}", f"account {account_id}",
                                         before=before, after={"error": str(err)}, ok=False)
            raise web.HTTPFound(
                f"/accounts/{account_id}?error={quote(error_text(err, self.site.language(request)))}") from None
        await self.site.audit.record(request, operator, f"account_{action}", f"account {account_id}", before=before,
                                     after=result)
        self.site.grid.invalidate()
        raise web.HTTPFound(f"/accounts/{account_id}")


class SellView(Page):
    """Sell (售电) or refund (退费) with a confirmation step; the idempotency key rides in the form."""

    url = "/sell"
    name = "web:sell"

    async def get(self, request: web.Request) -> web.Response:
        """Show the amount form for one meter."""
        meter = request.query.get("meter", "")
        kind = request.query.get("kind", "sale")
        kind = kind if kind in KINDS else "sale"
        self.site.require(request, KIND_PERMISSIONS[kind])
        method = request.query.get("method", "cash")
        status = await billing_of(self.site, request).meter_status(meter) if meter else None
        query = request.query.get("q", "")
        found = await find_meters(self.site, request, query) if query else None
        return self.site.render(request, "sell.html", step="form", meter=meter, kind=kind, meter_status=status,
                                q=query[:MAX_QUERY], found=found, tenant=await self._tenant(status),
                                quick_amounts=QUICK_AMOUNTS_YUAN,
                                methods=methods_of(kind), key=uuid.uuid4().hex, amount="",
                                method=method if method in methods_of(kind) else "cash", error=None)

    async def post(self, request: web.Request) -> web.StreamResponse:
        """First post: show the confirmation; confirmed post: move the money and go to the transaction."""
        operator, form = await self.site.form(request, PERM_VIEW)
        billing = billing_of(self.site, request)
        meter = str(form.get("meter", "")).strip()
        kind = str(form.get("kind", "sale"))
        self.site.require(request, KIND_PERMISSIONS.get(kind, PERM_SELL))
        method = str(form.get("method", "cash"))
        key = str(form.get("key", "")) or uuid.uuid4().hex
        amount_text = str(form.get("amount", ""))
        fen = parse_yuan(amount_text)
        meter_status = await billing.meter_status(meter) if meter else None
        context = {"meter": meter, "kind": kind if kind in KINDS else "sale", "methods": methods_of(kind), "key": key,
                   "quick_amounts": QUICK_AMOUNTS_YUAN, "found": None, "tenant": await self._tenant(meter_status),
                   "amount": amount_text, "method": method, "meter_status": meter_status}
        if fen is None or kind not in KINDS or method not in methods_of(kind) or not meter:
            return self.site.render(request, "sell.html", status=400, step="form",
                                    error=self.site.t(request)["err_amount"], **context)
        if form.get("confirmed") != "1":
            preview = await self.preview(meter, kind, fen, meter_status)
            if preview["over_cap"]:
                fmt = self.site.formatter(self.site.language(request))
                message = self.site.t(request)["err_over_cap"].format(
                    cap=fmt.money(preview["cap_fen"]), after=fmt.money(preview["after_fen"]))
                return self.site.render(request, "sell.html", status=400, step="form", error=message, **context)
            return self.site.render(request, "sell.html", step="confirm", fen=fen, words=amount_in_words(fen),
                                    error=None, preview=preview, **context)
        call = billing.sell if kind == "sale" else billing.refund
        try:
            result = await call(meter, fen, method, key, operator.billing_operator())
        except OpenPrepayError as err:
            await self.site.audit.record(request, operator, kind, meter, after={"amount_fen": fen, "error": str(err)},
                                         ok=False)
            return self.site.render(request, "sell.html", status=400, step="form",
                                    error=error_text(err, self.site.language(request)), **context)
        transaction = result["transaction"]
        if not result.get("repeated"):
            await self.site.audit.record(request, operator, transaction["kind"], meter, before={"remaining_fen": (meter_status or {}).get(
                "remaining_fen")}, after={"amount_fen": fen, "transaction_id": transaction["id"],
                                          "receipt_no": transaction.get("receipt_no")})
        self.site.grid.invalidate()
        raise web.HTTPFound(f"/transactions/{transaction['id']}")

    async def _tenant(self, meter_status: dict[str, Any] | None) -> dict[str, Any] | None:
        """Return who the meter's account is (name, number, phone), to show before any amount."""
        account_id = (meter_status or {}).get("account_id")
        return await self.site.billing.account_summary(account_id) if account_id is not None else None

    async def preview(self, meter: str, kind: str, fen: int, meter_status: dict[str, Any] | None) -> dict[str, Any]:
        """What the confirmation shows: the meter's money before and after, the kWh it buys at the price in force
        now, and whether a sale would pass the credit cap (囤积限值), so it is refused before 确认, not after."""
        billing = self.site.billing
        before = (meter_status or {}).get("remaining_fen")
        after = None if before is None else before + (fen if kind == "sale" else -fen)
        price = price_now(await billing.tariff_for(meter), self.core.clock.now())
        cap = None
        if kind == "sale" and (meter_status or {}).get("account_id") is not None:
            cap = (await billing.meter_credit(meter))["effective_credit_cap_fen"]
        kwh = f"{Decimal(fen) / 100 / Decimal(price):.2f}" if price and Decimal(price) > 0 else None
        return {"before_fen": before, "after_fen": after, "price": price, "kwh": kwh, "cap_fen": cap,
                "over_cap": cap is not None and after is not None and after > cap}


class TransactionView(Page):
    """One transaction with its receipt and the reversal form."""

    url = r"/transactions/{transaction_id:\d+}"
    name = "web:transaction"

    async def get(self, request: web.Request) -> web.Response:
        """Show it."""
        self.site.require(request, PERM_VIEW)
        try:
            result = await billing_of(self.site, request).transaction(path_id(request, "transaction_id"))
        except OpenPrepayError:
            raise web.HTTPNotFound() from None
        return self.site.render(request, "transaction.html", tx=result["transaction"], deliveries=result["deliveries"],
                                entries=result["entries"], key=uuid.uuid4().hex, error=request.query.get("error"))


class ReverseView(Page):
    """Reverse a sale (冲正)."""

    url = r"/transactions/{transaction_id:\d+}/reverse"
    name = "web:reverse"

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Reverse it with the given reason (a seller their own sale of the day; billing checks which)."""
        operator, form = await self.site.form(request, PERM_REVERSE, PERM_SELL)
        transaction_id = path_id(request, "transaction_id")
        try:
            result = await billing_of(self.site, request).reverse(
                transaction_id, str(form.get("reason", "")).strip(), str(form.get("key", "")),
                operator.billing_operator())
        except OpenPrepayError as err:
            await self.site.audit.record(request, operator, "reverse", f"transaction {transaction_id}",
                                         after={"error": str(err)}, ok=False)
            raise web.HTTPFound(
                f"/transactions/{transaction_id}?error={quote(error_text(err, self.site.language(request)))}") from None
        await self.site.audit.record(request, operator, "reverse", f"transaction {transaction_id}",
                                     after=result["transaction"])
        self.site.grid.invalidate()
        raise web.HTTPFound(f"/transactions/{result['transaction']['id']}")


SALES_VIEWS = (AccountsView, AccountView, AccountActionView, AccountCreditView, AccountTopUpRuleView,
               AccountHistoryExportView, SellView, TransactionView, ReverseView)
