"""The lobby kiosk under /kiosk/: find a shop by room or account number (or its scanned code), check it is the
tenant's (password or one-time code), then see its balance, pay by an on-screen QR, show the receipt."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NoReturn

from aiohttp import web

from integrations.topup.const import STATE_PAID
from integrations.topup.errors import TopUpError
from scada_core.params import form_id
from web.auth import AuthError

from .const import COOKIE_KIOSK, KIND_KIOSK, KIND_KIOSK_CHECK, KIOSK_AMOUNTS
from .mobile import TenantView
from .qr import qr_svg
from .usage import usage_charts

if TYPE_CHECKING:
    from .site import TenantSite

KIOSK_HOME = "/kiosk/"
KIOSK_CHECK = "/kiosk/check"
KIOSK_ACCOUNT = "/kiosk/account"
SHOP_CODE = re.compile(r"/kiosk/shop/(\d{1,18})$")
INDEX_ERRORS = ("unknown_shop", "ambiguous_shop")
SHOP_TEXT_MAX = 200


async def find_shops(site: TenantSite, text: str, by: str) -> set[int]:
    """Return the open accounts a scanned shop code, an account number or a room number (``by``) names."""
    accounts = await site.billing.accounts(status="open")
    if (code := SHOP_CODE.search(text)) is not None or by == "account":
        wanted = code.group(1) if code is not None else text
        return {a["id"] for a in accounts if str(a["id"]) == wanted}
    directory = await site.directory()
    return {a["id"] for a in accounts for m in a["meters"]
            if text and directory.classify(m["entity_id"])["room"] == text}


class KioskView(TenantView):
    """A kiosk page: its session is the checked shop, ended after ``kiosk_idle`` seconds without a touch."""

    async def tenant(self, request: web.Request) -> int:
        """Return the checked shop's account, or go back to the start."""
        account_id = await self.site.auth.session_account(
            request.cookies.get(COOKIE_KIOSK), KIND_KIOSK, extend=self.site.kiosk_idle
        )
        if account_id is None:
            raise web.HTTPFound(KIOSK_HOME)
        await self.site.check_named_account(request, account_id)
        return account_id

    async def checking(self, request: web.Request) -> int:
        """Return the shop found but not yet checked, or go back to the start."""
        account_id = await self.site.auth.session_account(
            request.cookies.get(COOKIE_KIOSK), KIND_KIOSK_CHECK, extend=self.site.kiosk_idle
        )
        if account_id is None:
            raise web.HTTPFound(KIOSK_HOME)
        return account_id

    async def start(self, request: web.Request, account_id: int, kind: str, location: str) -> NoReturn:
        """Replace the kiosk's session by one of ``kind`` for the shop and go to ``location``."""
        await self.site.auth.close_session(request.cookies.get(COOKIE_KIOSK))
        token = await self.site.auth.open_session(account_id, kind, self.site.kiosk_idle)
        response = web.HTTPFound(location)
        self.site.set_cookie(request, response, COOKIE_KIOSK, token, path="/kiosk", samesite="Strict")
        raise response

    async def check_page(
        self, request: web.Request, account_id: int, status: int = 200, **context: Any
    ) -> web.Response:
        """Render the check page: the password box when the shop has one, the code button when it has a phone."""
        credentials = await self.site.auth.credentials(account_id)
        return self.page(request, "kiosk_check.html", status=status,
                         has_password=bool(credentials and credentials.password_hash),
                         has_phone=bool(credentials and credentials.phone), **context)

    def page(self, request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
        """Render a kiosk page with its idle timeout."""
        return self.site.render(request, template, status=status, idle=self.site.kiosk_idle, **context)


class KioskIndexView(KioskView):
    """The room/account number box (a scanned shop code lands there too); never a list of shops."""

    url = KIOSK_HOME
    name = "kiosk:index"

    async def get(self, request: web.Request) -> web.Response:
        """Show the box."""
        error = request.query.get("error")
        return self.page(request, "kiosk_index.html", error=error if error in INDEX_ERRORS else None)


class KioskSelectView(KioskView):
    """Find the shop by room number, account number or its scanned code."""

    url = "/kiosk/select"
    name = "kiosk:select"

    async def post(self, request: web.Request) -> web.Response:
        """Start checking the one shop found; back to the box when none or several match."""
        form = await request.post()
        text = str(form.get("shop", "")).strip()[:SHOP_TEXT_MAX]
        found = await find_shops(self.site, text, str(form.get("by", "room")))
        if len(found) != 1:
            raise web.HTTPFound(f"{KIOSK_HOME}?error={'ambiguous_shop' if found else 'unknown_shop'}")
        await self.start(request, found.pop(), KIND_KIOSK_CHECK, KIOSK_CHECK)


class KioskShopCodeView(KioskView):
    """The URL printed as a shop's code: /kiosk/shop/<account id> starts checking that shop."""

    url = "/kiosk/shop/{account_id}"
    name = "kiosk:shop"

    async def get(self, request: web.Request) -> web.Response:
        """Start checking the shop, or back to the box."""
        found = await find_shops(self.site, request.path, "account")
        if not found:
            raise web.HTTPFound(f"{KIOSK_HOME}?error=unknown_shop")
        await self.start(request, found.pop(), KIND_KIOSK_CHECK, KIOSK_CHECK)


class KioskCheckView(KioskView):
    """The tenant proves the shop is theirs: its password, or a one-time code sent to its phone."""

    url = KIOSK_CHECK
    name = "kiosk:check"

    async def get(self, request: web.Request) -> web.Response:
        """Show the ways the shop can be checked."""
        return await self.check_page(request, await self.checking(request))

    async def post(self, request: web.Request) -> web.Response:
        """Check the password or the code; a wrong one is refused and counted like a failed login."""
        account_id = await self.checking(request)
        form = await request.post()
        password, code = str(form.get("password", "")), str(form.get("code", "")).strip()
        t = self.site.t(request)
        try:
            if password:
                ok = await self.site.auth.login_password(account_id, password, request.remote)
            else:
                credentials = await self.site.auth.credentials(account_id)
                phone = credentials.phone if credentials is not None else None
                ok = bool(phone and code) and await self.site.auth.check_code(str(phone), code, request.remote)
        except AuthError as err:
            return await self.check_page(request, account_id, 429, error=t[err.key])
        if not ok:
            return await self.check_page(request, account_id, 401, code_sent=bool(code),
                                         error=t["bad_password" if password else "bad_code"])
        await self.start(request, account_id, KIND_KIOSK, KIOSK_ACCOUNT)


class KioskCodeView(KioskView):
    """Send the one-time code to the phone of the shop being checked."""

    url = "/kiosk/check/code"
    name = "kiosk:check_code"

    async def post(self, request: web.Request) -> web.Response:
        """Send the code (within the phone's daily limit) and show the code box."""
        account_id = await self.checking(request)
        credentials = await self.site.auth.credentials(account_id)
        if credentials is None or not credentials.phone:
            return await self.check_page(request, account_id, 400)
        try:
            await self.site.auth.send_code(credentials.phone)
        except AuthError as err:
            return await self.check_page(request, account_id, 429, error=self.site.t(request)[err.key])
        return await self.check_page(request, account_id, code_sent=True)


class KioskAccountView(KioskView):
    """The shop's balance and the amount buttons."""

    url = KIOSK_ACCOUNT
    name = "kiosk:account"

    async def get(self, request: web.Request) -> web.Response:
        """Show the balance, the meter the top-up goes to (``?meter=``; none: the account's rule) and the amounts."""
        account_id = await self.tenant(request)
        meter = await self.site.chosen_meter(request, account_id, request.query)
        account = await self.site.account(account_id)
        t = self.site.t(request)
        charts = [(m["name"], (await usage_charts(self.site, m["entity_id"], t))[0]) for m in account["meters"]]
        return self.page(request, "kiosk_account.html", account=account, charts=charts,
                         amounts=KIOSK_AMOUNTS, providers=self.site.offers(self.site.language(request)), meter=meter)


class KioskTopUpView(KioskView):
    """Create a QR order for the shop."""

    url = "/kiosk/topup"
    name = "kiosk:topup"

    async def post(self, request: web.Request) -> web.Response:
        """Create the QR order with the chosen provider (the default when none is named) and show the QR."""
        account_id = await self.tenant(request)
        form = await request.post()
        provider = self.site.provider(str(form.get("provider") or ""))
        amount_fen = form_id(form, "amount_fen")  # ASCII digits; the provider's limits judge the amount
        if amount_fen is None:
            raise web.HTTPBadRequest(text=self.site.t(request)["bad_amount"])
        meter = await self.site.chosen_meter(request, account_id, form)
        try:
            order = await provider.create_qr_order(account_id, amount_fen, meter)
        except TopUpError as err:
            raise web.HTTPBadRequest(text=str(err)) from None
        raise web.HTTPFound(f"/kiosk/pay/{order.out_trade_no}")


class KioskPayView(KioskView):
    """The QR code on screen, waiting for the payment."""

    url = "/kiosk/pay/{out_trade_no}"
    name = "kiosk:pay"

    async def get(self, request: web.Request) -> web.Response:
        """Show the QR (SVG drawn here)."""
        account_id = await self.tenant(request)
        order = await self.site.owned_order(request, account_id, request.match_info["out_trade_no"])
        return self.page(request, "kiosk_pay.html", order=order, qr=qr_svg(order.qr_code or ""),
                         scan_prompt=self.site.scan_prompt(order.provider, self.site.language(request)),
                         seconds_left=max(0, int(order.expire_ts - self.core.clock.timestamp())))


class KioskOrderView(KioskView):
    """The order's state as JSON (the pay page polls it)."""

    url = "/kiosk/orders/{out_trade_no}"
    name = "kiosk:order"

    async def get(self, request: web.Request) -> web.Response:
        """Return the order's state."""
        account_id = await self.tenant(request)
        order = await self.site.owned_order(request, account_id, request.match_info["out_trade_no"])
        return self.site.json({"state": order.state, "credited": order.credited})


class KioskReceiptView(KioskView):
    """A printable receipt of a paid kiosk order."""

    url = "/kiosk/receipt/{out_trade_no}"
    name = "kiosk:receipt"

    async def get(self, request: web.Request) -> web.Response:
        """Show the receipt (the browser prints it)."""
        account_id = await self.tenant(request)
        order = await self.site.owned_order(request, account_id, request.match_info["out_trade_no"])
        if order.state != STATE_PAID:
            raise web.HTTPFound(f"/kiosk/pay/{order.out_trade_no}")
        account = await self.site.account(account_id)
        return self.page(request, "kiosk_receipt.html", order=order, account=account)


class KioskLogoutView(KioskView):
    """End the kiosk session (the idle timer calls this too)."""

    url = "/kiosk/logout"
    name = "kiosk:logout"

    async def get(self, request: web.Request) -> web.Response:
        """Forget the shop and show the list."""
        await self.site.auth.close_session(request.cookies.get(COOKIE_KIOSK))
        response = web.HTTPFound(KIOSK_HOME)
        response.del_cookie(COOKIE_KIOSK, path="/kiosk")
        raise response


KIOSK_VIEWS = (
    KioskIndexView, KioskSelectView, KioskShopCodeView, KioskCheckView, KioskCodeView, KioskAccountView,
    KioskTopUpView, KioskPayView, KioskOrderView, KioskReceiptView, KioskLogoutView,
)

