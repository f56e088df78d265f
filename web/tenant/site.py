"""What every tenant and kiosk page shares: templates, sessions, ownership checks and account data."""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import jinja2
from aiohttp import web

from integrations.topup.money import fen_to_yuan
from web.directory import MeterDirectory
from web.receipts import ReceiptTemplates, add_receipt_helpers

from .auth import TenantAuth
from .const import COOKIE_LANGUAGE, LANGUAGES, SOURCE_ACCESS
from .csrf import KEY_CSRF
from .i18n import texts
from .kiosk_lock import KioskLock
from .providers import Offer

if TYPE_CHECKING:
    from integrations.topup.orders import Order, OrderStore
    from integrations.topup.provider import TopUpProvider
    from integrations.topup.registry import TopUpRegistry
    from scada_core.core import Core

_LOGGER = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "tenant"
STAFF_TEMPLATES = TEMPLATES.parent
STATIC = Path(__file__).resolve().parent.parent / "static" / "tenant"


class TenantSite:
    """Shared services of the tenant pages, over the registered top-up providers."""

    def __init__(self, core: Core, registry: TopUpRegistry, store: OrderStore, kiosk_idle: int) -> None:
        self.core = core
        self.registry = registry  # the providers, listed as they registered (the first is the default)
        self.store = store  # the shared order table and security events (lookups see every provider's orders)
        self.auth = TenantAuth(core, store)
        self.kiosk_idle = kiosk_idle
        self.kiosk_lock = KioskLock()
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
        self.env.filters["yuan"] = lambda fen: "—" if fen is None else fen_to_yuan(int(fen))
        add_receipt_helpers(self.env)
        self.receipts = ReceiptTemplates(core.config.config_dir, STAFF_TEMPLATES)
        self.env.filters["when"] = lambda ts: datetime.fromtimestamp(ts, core.clock.time_zone).strftime(
            "%Y-%m-%d %H:%M"
        )
        self.env.filters["method"] = jinja2.pass_context(lambda context, method: self.method_name(method, context["lang"]))

    def language(self, request: web.Request) -> str:
        """Return the page's language: the visitor's choice (a cookie), else the site's."""
        chosen = request.cookies.get(COOKIE_LANGUAGE)
        return chosen if chosen in LANGUAGES else self.core.config.language

    def t(self, request: web.Request) -> dict[str, str]:
        """Return the texts of the page's language."""
        return texts(self.language(request))

    def method_name(self, method: str | None, language: str) -> str:
        """Return a payment method's name in ``language`` (billing knows every provider's)."""
        billing = self.core.data.get("billing")
        if not method or billing is None:
            return method or ""
        return str(billing.methods.label(method, language))

    def offers(self, language: str) -> list[Offer]:
        """Return every registered provider as the pages show it, in ``language``."""
        return [Offer.of(provider, language) for provider in self.registry.list()]

    def scan_prompt(self, name: str, language: str) -> str | None:
        """Return what the kiosk says beside a QR code of provider ``name`` (None: the generic text)."""
        provider = self.registry.get(name)
        return provider.scan_prompts.get(language) if provider is not None else None

    def provider(self, name: str | None) -> TopUpProvider:
        """Return the provider a form names (the default when it names none); 400 for an unknown one."""
        found = self.registry.get(name) if name else self.registry.list()[0]
        if found is None:
            raise web.HTTPBadRequest(text=f"unknown payment provider {name!r}")
        return found

    @property
    def billing(self) -> Any:
        """Return billing's service object, or raise 503 while it is missing."""
        billing = self.core.data.get("billing")
        if billing is None:
            raise web.HTTPServiceUnavailable(text="billing is not loaded")
        return billing

    def render(self, request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
        """Render a page in the visitor's language, with the request's CSRF token for its forms."""
        language = self.language(request)
        page = self.env.get_template(template).render(t=texts(language), lang=language, csrf=request.get(KEY_CSRF, ""),
                                                      here=request.path_qs,
                                                      **context)
        return web.Response(text=page, status=status, content_type="text/html")

    @staticmethod
    def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, *, path: str,
                   samesite: str, max_age: int | None = None) -> None:
        """Set an HttpOnly cookie of the tenant pages (Secure when the request came over TLS)."""
        response.set_cookie(name, value, path=path, samesite=samesite, max_age=max_age, httponly=True,
                            secure=request.secure)

    @staticmethod
    def json(data: Any, status: int = 200) -> web.Response:
        """Return JSON."""
        return web.Response(text=json.dumps(data, ensure_ascii=False, default=str), status=status,
                            content_type="application/json")

    async def forbid(self, request: web.Request, account_id: int, what: str) -> NoReturn:
        """Refuse access to someone else's data (403) and log it as a security event."""
        await self.store.security_event(
            SOURCE_ACCESS, "foreign_access", f"account {account_id} asked for {what}", request.remote, request.path
        )
        raise web.HTTPForbidden(text=self.t(request)["forbidden"])

    async def check_named_account(self, request: web.Request, account_id: int) -> None:
        """Refuse a request that names an account other than the session's (query or form field)."""
        named = request.query.get("account_id")
        if named is None and request.method == "POST":
            named = (await request.post()).get("account_id")  # type: ignore[assignment]
        if named is not None and str(named) != str(account_id):
            await self.forbid(request, account_id, f"account {named}")

    async def directory(self) -> MeterDirectory:
        """Return the meter directory: the staff dashboard's, else read afresh (staff may edit it)."""
        web_site = self.core.data.get("web")
        if web_site is not None:
            return web_site.directory
        directory = MeterDirectory(self.core)
        await directory.async_load()
        return directory

    async def account(self, account_id: int) -> dict[str, Any]:
        """Return the account with each meter's money, status, relay and power, plus the total balance."""
        data = await self.billing.account(account_id)
        directory = await self.directory()
        total = int(data.get("wallet_fen") or 0)
        for meter in data["meters"]:
            state = self.core.states.get(meter["entity_id"])
            attrs = state.attributes if state is not None else {}
            meter["power_w"] = attrs.get("power_w")
            meter["name"] = directory.display_name(meter["entity_id"])  # 3F-0301 as staff and the kiosk call it
            control = meter["control"]  # who last switched it and how, not which operator: that is staff's
            meter["control"] = {"holder": control["holder"], "service": control.get("service"), "ts": control.get("ts")}
            total += int(meter.get("remaining_fen") or 0)
        data["balance_fen"] = total
        return data

    async def owned_meter(self, request: web.Request, account_id: int, entity_id: str) -> dict[str, Any]:
        """Return one of the account's meters or refuse."""
        data = await self.account(account_id)
        for meter in data["meters"]:
            if meter["entity_id"] == entity_id:
                return meter
        await self.forbid(request, account_id, f"meter {entity_id}")

    async def chosen_meter(self, request: web.Request, account_id: int, form: Mapping[str, Any]) -> str | None:
        """Return the meter a top-up form names (one of the account's own, else refused), or None: the rule."""
        entity_id = str(form.get("meter") or "").strip()
        if not entity_id:
            return None
        await self.owned_meter(request, account_id, entity_id)
        return entity_id

    async def owned_order(self, request: web.Request, account_id: int, out_trade_no: str) -> Order:
        """Return one of the account's orders (any provider's) or refuse."""
        order = await self.store.get(out_trade_no)
        if order is None or order.account_id != account_id:
            await self.forbid(request, account_id, f"order {out_trade_no}")
        return order
