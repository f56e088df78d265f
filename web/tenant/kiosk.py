"""The lobby kiosk under /kiosk/: pick or scan a shop, see its balance, pay by an on-screen QR, show the receipt."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from integrations.alipay.const import STATE_PAID
from integrations.alipay.payments import TopUpError

from scada_core.params import parse_id

from .const import COOKIE_KIOSK, KIND_KIOSK, KIOSK_AMOUNTS
from .mobile import TenantView
from .qr import qr_svg

KIOSK_HOME = "/kiosk/"
KIOSK_ACCOUNT = "/kiosk/account"


class KioskView(TenantView):
    """A kiosk page: its session is the picked shop, ended after ``kiosk_idle`` seconds without a touch."""

    async def tenant(self, request: web.Request) -> int:
        """Return the picked shop's account, or go back to the shop list."""
        account_id = await self.site.auth.session_account(
            request.cookies.get(COOKIE_KIOSK), KIND_KIOSK, extend=self.site.kiosk_idle
        )
        if account_id is None:
            raise web.HTTPFound(KIOSK_HOME)
        await self.site.check_named_account(request, account_id)
        return account_id

    def page(self, template: str, **context: Any) -> web.Response:
        """Render a kiosk page with its idle timeout."""
        return self.site.render(template, idle=self.site.kiosk_idle, **context)


class KioskIndexView(KioskView):
    """The shop list and the scan/number box."""

    url = KIOSK_HOME
    name = "kiosk:index"

    async def get(self, request: web.Request) -> web.Response:
        """List the open shops."""
        shops = await self.site.billing.accounts(status="open")
        return self.page("kiosk_index.html", shops=shops, error=request.query.get("error"))


class KioskSelectView(KioskView):
    """Pick a shop (a touch on the list, or its code scanned into the box)."""

    url = "/kiosk/select"
    name = "kiosk:select"

    async def post(self, request: web.Request) -> web.Response:
        """Start a kiosk session for the shop."""
        raw = str((await request.post()).get("account_id", "")).strip()
        account_id = parse_id(raw.rsplit("/", 1)[-1])
        shops = {a["id"] for a in await self.site.billing.accounts(status="open")}
        if account_id not in shops:
            raise web.HTTPFound(f"{KIOSK_HOME}?error=1")
        old = request.cookies.get(COOKIE_KIOSK)
        await self.site.auth.close_session(old)
        token = await self.site.auth.open_session(account_id, KIND_KIOSK, self.site.kiosk_idle)
        response = web.HTTPFound(KIOSK_ACCOUNT)
        response.set_cookie(COOKIE_KIOSK, token, httponly=True, samesite="Strict", path="/kiosk")
        raise response


class KioskShopCodeView(KioskView):
    """The URL printed as a shop's code: /kiosk/shop/<account id> picks it."""

    url = "/kiosk/shop/{account_id}"
    name = "kiosk:shop"

    async def get(self, request: web.Request) -> web.Response:
        """Show the list with the shop preselected (one touch confirms)."""
        shops = await self.site.billing.accounts(status="open")
        wanted = request.match_info["account_id"]
        return self.page("kiosk_index.html", shops=[s for s in shops if str(s["id"]) == wanted] or shops,
                         error=None)


class KioskAccountView(KioskView):
    """The shop's balance and the amount buttons."""

    url = KIOSK_ACCOUNT
    name = "kiosk:account"

    async def get(self, request: web.Request) -> web.Response:
        """Show the balance."""
        account_id = await self.tenant(request)
        return self.page("kiosk_account.html", account=await self.site.account(account_id), amounts=KIOSK_AMOUNTS,
                         providers=list(self.site.providers))


class KioskTopUpView(KioskView):
    """Create a QR order for the shop."""

    url = "/kiosk/topup"
    name = "kiosk:topup"

    async def post(self, request: web.Request) -> web.Response:
        """Create the QR order with the chosen provider (the default when none is named) and show the QR."""
        account_id = await self.tenant(request)
        form = await request.post()
        provider = self.site.provider(str(form.get("provider") or ""))
        try:
            amount_fen = int(str(form.get("amount_fen", "")))
            order = await provider.create_qr_order(account_id, amount_fen)
        except (ValueError, TopUpError) as err:
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
        return self.page("kiosk_pay.html", order=order, qr=qr_svg(order.qr_code or ""))


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
        return self.page("kiosk_receipt.html", order=order, account=account)


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
    KioskIndexView, KioskSelectView, KioskShopCodeView, KioskAccountView, KioskTopUpView, KioskPayView,
    KioskOrderView, KioskReceiptView, KioskLogoutView,
)

