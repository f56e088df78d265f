"""Phone pages under /m/: login, balance and meters, usage charts, history, receipts, remote close, top-up."""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

from aiohttp import web

from integrations.topup.const import RETURN_PATH, RETURN_REF, STATE_PAID, STATE_PENDING
from integrations.topup.errors import TopUpError
from integrations.topup.money import yuan_to_fen
from scada_core.billing.const import PURCHASE_KINDS
from scada_core.billing.control import ControlRefused
from scada_core.const import ACTOR_TENANT
from scada_core.core import Context
from scada_core.exceptions import OpenPrepayError
from scada_core.http import View
from scada_core.http_security import safe_redirect_path
from scada_core.params import form_id, parse_id, query_int
from web.auth import AuthError
from web.receipts import NO_RECEIPT, has_receipt, receipt_context, render_receipt_pdf

from .const import (
    COOKIE_LANGUAGE,
    COOKIE_TENANT,
    HISTORY_PAGE,
    KIND_MOBILE,
    LANGUAGE_COOKIE_AGE,
    LANGUAGES,
    MAX_HISTORY_PAGES,
    PHONE_AMOUNTS,
    PHONE_PATTERN,
    RETURN_REFRESH,
    SEC_BAD_REFERENCE,
    SESSION_LIFETIME,
    SOURCE_ACCESS,
)
from .site import TenantSite
from .summary import home_summary
from .usage import today_chart, usage_charts

_LOGGER = logging.getLogger(__name__)

LOGIN_URL = "/m/login"
HOME_URL = "/m/home"
TENANT_PAGES = "/m/"
MAX_NEXT = 2048  # characters of a `next` path


def safe_next(value: object) -> str | None:
    """Return ``value`` if it is the path of one of our tenant pages however a browser reads it, else None."""
    if not isinstance(value, str) or not value.startswith(TENANT_PAGES) or len(value) > MAX_NEXT:
        return None
    return safe_redirect_path(value, "") or None


def login_url(next_path: str) -> str:
    """Return the login page that comes back to ``next_path`` afterwards."""
    return f"{LOGIN_URL}?{urlencode({'next': next_path})}"


class TenantView(View):
    """A tenant page (not part of the API document)."""

    tag = "tenant"
    in_api_doc = False
    needs_login: ClassVar[bool] = True

    def __init__(self, site: TenantSite) -> None:
        super().__init__(site.core)
        self.site = site

    async def tenant(self, request: web.Request) -> int:
        """Return the logged-in account; send others to the login page (or 401 for JSON/SVG/PDF)."""
        account_id = await self.site.auth.session_account(request.cookies.get(COOKIE_TENANT), KIND_MOBILE)
        if account_id is None:
            if request.method == "GET" and request.path.startswith(HOME_URL):
                raise web.HTTPFound(LOGIN_URL)
            raise web.HTTPUnauthorized(text="login required")
        await self.site.check_named_account(request, account_id)
        return account_id


def form_phone(form: Mapping[str, Any]) -> str:
    """Return the form's phone number, or "" when it is no phone number at all."""
    phone = str(form.get("phone", "")).strip()
    return phone if re.fullmatch(PHONE_PATTERN, phone) else ""


def _code_refused(
    site: TenantSite, request: web.Request, phone: str, err: AuthError, next_path: str | None
) -> web.Response:
    """Tell the phone it is over a daily code limit (429)."""
    return site.render(request, "login.html", status=429, phone=phone, next=next_path,
                       error=site.t(request)[err.key])


def _login_response(token: str, next_path: str | None) -> web.Response:
    response = web.HTTPFound(next_path or HOME_URL)
    response.set_cookie(COOKIE_TENANT, token, max_age=SESSION_LIFETIME, httponly=True, samesite="Lax", path="/")
    return response


class IndexView(TenantView):
    """/m/ sends to the home page."""

    url = "/m/"
    name = "tenant:index"

    async def get(self, request: web.Request) -> web.Response:
        """Redirect."""
        raise web.HTTPFound(HOME_URL)


class LoginView(TenantView):
    """Log in with account number + password."""

    url = LOGIN_URL
    name = "tenant:login"

    async def get(self, request: web.Request) -> web.Response:
        """Show the login form (that returns to a tenant page named by ``next``)."""
        return self.site.render(request, "login.html", next=safe_next(request.query.get("next")))

    async def post(self, request: web.Request) -> web.Response:
        """Check the password and open a session."""
        form = await request.post()
        next_path = safe_next(form.get("next"))
        account_id = form_id(form, "account_id")
        password = str(form.get("password", ""))
        if account_id is None or not await self.site.auth.login_password(account_id, password, request.remote):
            return self.site.render(request, "login.html", status=401, next=next_path,
                                    error=self.site.t(request)["bad_login"])
        token = await self.site.auth.open_session(account_id, KIND_MOBILE, SESSION_LIFETIME)
        raise _login_response(token, next_path)


class CodeSendView(TenantView):
    """Send a one-time code to a registered phone."""

    url = "/m/login/code/send"
    name = "tenant:code_send"

    async def post(self, request: web.Request) -> web.Response:
        """Send the code (the page looks the same for unknown phones; a phone over its daily codes is told so)."""
        form = await request.post()
        phone, next_path = form_phone(form), safe_next(form.get("next"))
        try:
            if phone:
                await self.site.auth.send_code(phone)
        except AuthError as err:
            return _code_refused(self.site, request, phone, err, next_path)
        return self.site.render(request, "login.html", phone=phone, code_sent=True, next=next_path)


class CodeLoginView(TenantView):
    """Log in with phone + one-time code."""

    url = "/m/login/code"
    name = "tenant:code_login"

    async def post(self, request: web.Request) -> web.Response:
        """Check the code and open a session."""
        form = await request.post()
        phone, code = form_phone(form), str(form.get("code", "")).strip()
        next_path = safe_next(form.get("next"))
        try:
            account_id = await self.site.auth.login_code(phone, code, request.remote) if phone else None
        except AuthError as err:
            return _code_refused(self.site, request, phone, err, next_path)
        if account_id is None:
            return self.site.render(request, "login.html", status=401, phone=phone, code_sent=True, next=next_path,
                                    error=self.site.t(request)["bad_code"])
        token = await self.site.auth.open_session(account_id, KIND_MOBILE, SESSION_LIFETIME)
        raise _login_response(token, next_path)


class LogoutView(TenantView):
    """End the session."""

    url = "/m/logout"
    name = "tenant:logout"

    async def post(self, request: web.Request) -> web.Response:
        """Forget the session and go to the login page."""
        await self.site.auth.close_session(request.cookies.get(COOKIE_TENANT))
        response = web.HTTPFound(LOGIN_URL)
        response.del_cookie(COOKIE_TENANT, path="/")
        raise response


async def home_page(site: TenantSite, request: web.Request, account_id: int, status: int = 200,
                    error: str | None = None) -> web.Response:
    """Render the home page (``error``: why the top-up form was refused, shown beside it)."""
    account = await site.account(account_id)
    page = query_int(request, "page", 1, minimum=1, maximum=MAX_HISTORY_PAGES) or 1
    rows = await site.billing.account_history(account_id, limit=HISTORY_PAGE + 1, kinds=PURCHASE_KINDS,
                                              offset=(page - 1) * HISTORY_PAGE)
    history, more = rows[:HISTORY_PAGE], len(rows) > HISTORY_PAGE
    credentials = await site.auth.credentials(account_id)
    t = site.t(request)
    summary = await home_summary(site, account)
    charts = {}
    for meter in account["meters"]:
        entity_id = meter["entity_id"]
        credit = await site.billing.meter_credit(entity_id)  # the levels its SMS warnings come at (home only)
        meter["warn_fen"] = (credit.get("effective_alarm1_fen"), credit.get("effective_alarm2_fen"))
        costs = await site.billing.spent_by_day(account_id, summary["since_ts"], entity_id)
        charts[entity_id] = (await today_chart(site, entity_id, t), *await usage_charts(site, entity_id, t, costs))
    return site.render(
        request, "home.html", status=status, account=account, history=history, amounts=PHONE_AMOUNTS,
        tenant_control=bool(credentials and credentials.tenant_control), charts=charts,
        sms_alerts=credentials is None or credentials.sms_alerts is not False,
        meter_names={m["entity_id"]: m["name"] for m in account["meters"]}, page=page, more=more,
        summary=summary, error=error,
        orders=await site.store.for_account(account_id, limit=10), providers=site.offers(site.language(request)),
    )


class HomeView(TenantView):
    """Balance and state in one look, meters, charts, history and the top-up form."""

    url = HOME_URL
    name = "tenant:home"

    async def get(self, request: web.Request) -> web.Response:
        """Show the tenant's own account."""
        return await home_page(self.site, request, await self.tenant(request))


class AccountJsonView(TenantView):
    """The same data as JSON (for the page's refresh and for apps)."""

    url = "/m/api/account"
    name = "tenant:account_json"

    async def get(self, request: web.Request) -> web.Response:
        """Return the tenant's own account."""
        account_id = await self.tenant(request)
        return self.site.json(await self.site.account(account_id))


class UsageChartView(TenantView):
    """Daily (30 days) or monthly (this year) use of one meter as SVG."""

    url = "/m/meters/{entity_id}/usage.svg"
    name = "tenant:usage"

    async def get(self, request: web.Request) -> web.Response:
        """Draw the chart."""
        account_id = await self.tenant(request)
        entity_id = request.match_info["entity_id"]
        await self.site.owned_meter(request, account_id, entity_id)
        daily, monthly = await usage_charts(self.site, entity_id, self.site.t(request))
        return web.Response(text=monthly if request.query.get("range") == "monthly" else daily,
                            content_type="image/svg+xml")


class MeterCloseView(TenantView):
    """Remote close (合闸) of the tenant's own meter, where the operator allows tenant control."""

    url = "/m/meters/{entity_id}/close"
    name = "tenant:meter_close"

    async def post(self, request: web.Request) -> web.Response:
        """Close the relay through the meter's service."""
        account_id = await self.tenant(request)
        entity_id = request.match_info["entity_id"]
        await self.site.owned_meter(request, account_id, entity_id)
        credentials = await self.site.auth.credentials(account_id)
        if not (credentials and credentials.tenant_control):
            await self.site.forbid(request, account_id, f"remote control of {entity_id}")
        domain = entity_id.split(".", 1)[0]
        context = Context(user_id=f"tenant:{account_id}", actor=ACTOR_TENANT)
        try:  # control precedence (staff hold, money above zero) is checked by the meter's service guard
            await self.core.services.async_call(domain, "close", {"entity_id": entity_id}, context)
        except ControlRefused as err:
            raise web.HTTPConflict(text=err.message(self.site.language(request))) from None
        raise web.HTTPFound(HOME_URL)


class TopUpView(TenantView):
    """Start a phone top-up (Alipay wap.pay, WeChat Pay H5) for the tenant's own account."""

    url = "/m/topup"
    name = "tenant:topup"

    async def post(self, request: web.Request) -> web.Response:
        """Create the order with the chosen provider (the default when none is named) and send the browser there."""
        account_id = await self.tenant(request)
        form = await request.post()
        provider = self.site.provider(str(form.get("provider") or ""))
        try:
            amount_fen = yuan_to_fen(str(form.get("amount", "")))
        except ValueError:
            return await home_page(self.site, request, account_id, 400, self.site.t(request)["bad_amount"])
        meter = await self.site.chosen_meter(request, account_id, form)
        assert self.core.http is not None
        try:
            _, url = await provider.create_wap_order(
                account_id, amount_fen, quit_url=self.core.http.public_url(HOME_URL), payer_ip=request.remote,
                meter_entity_id=meter,
            )
        except TopUpError as err:
            return await home_page(self.site, request, account_id, 400, str(err))
        raise web.HTTPFound(url)


class TopUpReturnView(TenantView):
    """Where the provider sends the browser back; shows the order until the notify has credited it."""

    url = RETURN_PATH
    name = "tenant:topup_return"

    async def get(self, request: web.Request) -> web.Response:
        """Show the order's state (the browser return is never trusted: only our order table is) to whoever
        holds its signed reference (the phone may come back on another host, without the session), else to
        its tenant, logging in first and coming back here."""
        out_trade_no = request.query.get("out_trade_no", "")
        reference = request.query.get(RETURN_REF)
        if reference is not None:
            order = await self.site.store.get(out_trade_no) if out_trade_no else None
            if order is None or not await self.site.store.references.verify(out_trade_no, reference):
                await self.site.store.security_event(
                    SOURCE_ACCESS, SEC_BAD_REFERENCE, "return page with a wrong order reference", request.remote,
                    out_trade_no,
                )
                raise web.HTTPForbidden(text=self.site.t(request)["forbidden"])
        session = await self.site.auth.session_account(request.cookies.get(COOKIE_TENANT), KIND_MOBILE)
        if reference is None:
            if session is None:
                raise web.HTTPFound(login_url(request.path_qs))
            order = await self.site.owned_order(request, session, out_trade_no)
        waiting = order.state in (STATE_PENDING, STATE_PAID) and not order.credited
        # the new balance only to the order's own tenant (a signed reference alone may have travelled)
        balance = (await self.site.account(order.account_id))["balance_fen"] \
            if order.credited and session == order.account_id else None
        return self.site.render(request, "topup_return.html", order=order, balance_fen=balance,
                                refresh=RETURN_REFRESH if waiting else None)


class OrderStatusView(TenantView):
    """One of the tenant's orders as JSON."""

    url = "/m/orders/{out_trade_no}"
    name = "tenant:order"

    async def get(self, request: web.Request) -> web.Response:
        """Return the order."""
        account_id = await self.tenant(request)
        order = await self.site.owned_order(request, account_id, request.match_info["out_trade_no"])
        return self.site.json(order.as_dict())


class ReceiptView(TenantView):
    """A receipt PDF of one of the tenant's own transactions."""

    url = "/m/receipts/{transaction_id}.pdf"
    name = "tenant:receipt"

    async def get(self, request: web.Request) -> web.Response:
        """Render the PDF."""
        account_id = await self.tenant(request)
        transaction_id = parse_id(request.match_info["transaction_id"])
        try:
            found: dict[str, Any] = (
                (await self.site.billing.transaction(transaction_id))["transaction"] if transaction_id else {}
            )
        except OpenPrepayError:  # unknown ids look like foreign ones
            found = {}
        if found.get("account_id") != account_id:
            await self.site.forbid(request, account_id, f"receipt {request.match_info['transaction_id']}")
        if not has_receipt(found):
            raise web.HTTPNotFound(text=NO_RECEIPT)
        account = await self.site.billing.account(account_id)
        t = self.site.t(request)
        billing = self.site.billing
        context = receipt_context(found, account, self.core.clock.time_zone, self.core.config.name,
                                  t.get(f"kind_{found['kind']}", found["kind"]), found["operator"]["id"],
                                  billing.methods.label(found.get("method") or "", self.site.language(request)))
        pdf = await self.core.async_add_executor_job(render_receipt_pdf, self.site.receipts, context)
        return web.Response(body=pdf, content_type="application/pdf",
                            headers={"Content-Disposition": f'inline; filename="{context["receipt_no"]}.pdf"'})


class AlertsView(TenantView):
    """短信提醒: the tenant turns text messages about its account on or off."""

    url = "/m/alerts"
    name = "tenant:alerts"

    async def post(self, request: web.Request) -> web.Response:
        """Record the choice and go home."""
        account_id = await self.tenant(request)
        form = await request.post()
        await self.site.auth.set_sms_alerts(account_id, form.get("sms") == "on")
        raise web.HTTPFound(HOME_URL + "#alerts")


class LanguageView(TenantView):
    """中文 / English: the visitor's choice, kept in a cookie; back to the page it was made on."""

    url = "/m/language"
    name = "tenant:language"

    async def get(self, request: web.Request) -> web.Response:
        """Set the language (an unknown one changes nothing) and go back."""
        response = web.HTTPFound(safe_redirect_path(request.query.get("next"), HOME_URL))
        language = request.query.get("lang")
        if language in LANGUAGES:
            self.site.set_cookie(request, response, COOKIE_LANGUAGE, language, path="/", samesite="Lax",
                                 max_age=LANGUAGE_COOKIE_AGE)
        raise response


MOBILE_VIEWS = (
    AlertsView, LanguageView,
    IndexView, LoginView, CodeSendView, CodeLoginView, LogoutView, HomeView, AccountJsonView, UsageChartView,
    MeterCloseView, TopUpView, TopUpReturnView, OrderStatusView, ReceiptView,
)

