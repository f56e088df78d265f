"""What every dashboard page shares: templates, the language, the operator check, CSRF and the audit log."""
from __future__ import annotations

import asyncio
import functools
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple
from urllib.parse import quote

import jinja2
from aiohttp import web

from scada_core.const import DEFAULT_LANGUAGE
from scada_core.http import View
from scada_core.params import query_date
from scada_core.permissions import PERM_AUDIT, PERM_OPERATORS, PERM_PRICES, PERM_REPORTS, PERM_SETTINGS, PERM_VIEW
from scada_core.reports.queries import day_bounds
from scada_core.reports.rollup import async_rollup, utc_offset_s

from .audit import AuditLog
from .auth import KEY_WEB_OPERATOR, Auth, WebOperator, csrf_ok, origin_ok
from .batch import DashboardBatches
from .const import CSRF_FIELD, CSRF_HEADER, LANG_COOKIE, TENANT_LOGINS
from .format import Formatter
from .grid import GridData
from .i18n import LANGUAGES, texts
from .overview import OverviewData
from .receipt_layout import ReceiptLayouts
from .receipts import ReceiptTemplates, add_receipt_helpers

if TYPE_CHECKING:
    from scada_core.core import Core

    from .directory import MeterDirectory
    from .tenant_logins import TenantLogins

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES = WEB_DIR / "templates"
STATIC = WEB_DIR / "static"

GATEWAY_PREFIX = "modbus.gateway_"
NAV = (
    ("/", "nav_grid", PERM_VIEW),
    ("/accounts", "nav_accounts", PERM_VIEW),
    ("/transactions", "nav_transactions", PERM_VIEW),
    ("/reports", "nav_reports", PERM_REPORTS),
    ("/load_limiting", "nav_load_limiting", PERM_VIEW),
    ("/admin/prices", "nav_prices", PERM_PRICES),
    ("/admin/settings", "nav_settings", PERM_SETTINGS),
    ("/admin/operators", "nav_operators", PERM_OPERATORS),
    ("/admin/audit", "nav_audit", PERM_AUDIT),
)


SITE_WIDE_NAV = frozenset({"/admin/settings"})


class DayRange(NamedTuple):
    """Local days from ``start`` to ``end``, and their bounds [since, until) in POSIX seconds."""

    start: date
    end: date
    since: float
    until: float


class WebSite:
    """The dashboard's shared services (in core.data["web"])."""

    def __init__(self, core: Core, auth: Auth, branding: dict[str, Any], directory: MeterDirectory) -> None:
        assert core.db is not None
        self.core = core
        self.auth = auth
        self.audit = AuditLog(core.db, core.clock)
        self.branding = branding
        self.directory = directory
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
        self.env.filters["yuan"] = lambda fen: self.formatter(DEFAULT_LANGUAGE).money(fen)  # the same in both
        self.env.filters["when"] = self.when
        self.env.globals["building_name"] = self.building_name
        self.env.globals["gateway_name"] = self.gateway_name
        add_receipt_helpers(self.env)
        self.db = core.db
        self.offset_s = utc_offset_s(core.clock.time_zone)
        self.receipts = ReceiptTemplates(core.config.config_dir, TEMPLATES)
        self.receipt_layouts = ReceiptLayouts(core.db, core.clock)
        self.grid = GridData(self)
        self.overview = OverviewData(self)
        self.batches = DashboardBatches(self)
        self.pending_imports: dict[str, list[dict[str, Any]]] = {}
        self._rollup_lock = asyncio.Lock()

    async def rollup(self, since_ts: float | None) -> int:
        """Bring the daily energy rollups up to date (one at a time: the loop and the report page share it)."""
        async with self._rollup_lock:
            return await async_rollup(self.db, self.offset_s, since_ts)

    def formatter(self, language: str) -> Formatter:
        """Return the value writer of ``language`` (the site's zone, billing's payment method names)."""
        return Formatter(language, self.core.clock.time_zone, self.method_name)

    def when(self, ts: float | None) -> str:
        """Format a POSIX time in the site's zone (``2026-12-04 15:16``)."""
        return self.formatter(DEFAULT_LANGUAGE).when(ts)

    def building_name(self, building_id: str | None) -> str:
        """Return a building's configured name (billing's ``buildings: b1: name:``), else its id."""
        buildings = self.billing.buildings if self.billing is not None else {}
        return str((buildings.get(building_id) or {}).get("name") or building_id or "")

    def gateway_name(self, name: str | None) -> str:
        """Return a gateway's label (the modbus YAML's ``label:``), else its name; ``name`` may be its entity id."""
        if not name:
            return ""
        entity_id = name if name.startswith(GATEWAY_PREFIX) else f"{GATEWAY_PREFIX}{name}"
        state = self.core.states.get(entity_id)
        return str(state.attributes.get("label") or name) if state is not None else name

    @property
    def billing(self) -> Any:
        """Return billing's service object, or None when billing is not configured."""
        return self.core.data.get("billing")

    def day_range(self, request: web.Request, first: str, last: str, default_first: date) -> DayRange:
        """Return the local days the query's ``first`` and ``last`` dates name (in order; by default from
        ``default_first`` to today) and their bounds in POSIX seconds (400 for a date that is no date)."""
        today = self.core.clock.now().date()
        start = query_date(request, first, default_first)
        end = query_date(request, last, today)
        start, end = min(start, end), max(start, end)
        since, until = day_bounds(start, end, self.offset_s)
        return DayRange(start, end, since, until)

    def tenant_logins(self) -> TenantLogins | None:
        """Return the tenant pages' logins, or None when no top-up provider brought the tenant pages up."""
        return self.core.data.get(TENANT_LOGINS)

    def method_name(self, method: str | None, language: str) -> str:
        """Return a payment method's name for people (billing knows every provider's)."""
        if not method:
            return ""
        return self.billing.methods.label(method, language) if self.billing is not None else method

    def language(self, request: web.Request) -> str:
        """Return the operator's language, else the cookie's, else the site's."""
        operator: WebOperator | None = request.get(KEY_WEB_OPERATOR)
        if operator is not None and operator.language in LANGUAGES:
            return operator.language
        cookie = request.cookies.get(LANG_COOKIE)
        if cookie in LANGUAGES:
            return cookie
        return self.core.config.language if self.core.config.language in LANGUAGES else LANGUAGES[0]

    def t(self, request: web.Request) -> dict[str, str]:
        """Return the message catalogue of the request's language."""
        return texts(self.language(request))

    def render(self, request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
        """Render a page with the operator, the catalogue, the navigation and the CSRF token."""
        operator: WebOperator | None = request.get(KEY_WEB_OPERATOR)
        nav = [(url, key) for url, key, action in NAV if operator is not None and operator.may(action)
               and not (url in SITE_WIDE_NAV and operator.buildings is not None)]
        page = self.env.get_template(template).render(
            t=self.t(request), lang=self.language(request), op=operator, nav=nav, path=request.path,
            csrf=operator.csrf if operator else "", branding=self.branding, site_name=self.core.config.name,
            time_zone=self.core.config.time_zone,
            can=lambda action: operator is not None and operator.may(action),
            method_name=functools.partial(self.method_name, language=self.language(request)),
            fmt=self.formatter(self.language(request)), meter_name=self.directory.display_name, **context,
        )
        return web.Response(text=page, status=status, content_type="text/html")

    def require(self, request: web.Request, action: str, *alternatives: str) -> WebOperator:
        """Return the logged-in operator allowed to do ``action`` (or one of ``alternatives``); else redirect to
        login or refuse (403)."""
        operator: WebOperator | None = request.get(KEY_WEB_OPERATOR)
        if operator is None:
            raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='/')}" if request.method == "GET" else "/login")
        if operator.must_change_password and request.path != "/password":
            raise web.HTTPFound("/password")
        if not any(operator.may(one) for one in (action, *alternatives)):
            raise web.HTTPForbidden(text=self.render(request, "forbidden.html").text, content_type="text/html")
        return operator

    async def form(self, request: web.Request, action: str, *alternatives: str) -> tuple[WebOperator, Any]:
        """Check the operator (allowed ``action`` or one of ``alternatives``) and the CSRF token of a POSTed form;
        return both the operator and the form."""
        operator = self.require(request, action, *alternatives)
        data = await request.post()
        given = data.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
        if not (origin_ok(request) and csrf_ok(operator.csrf, given if isinstance(given, str) else None)):
            await self.audit.record(request, operator, "csrf_refused", request.path, ok=False)
            raise web.HTTPForbidden(text=self.t(request)["err_csrf"])
        return operator, data


class Page(View):
    """A dashboard view (HTML or dashboard JSON): not part of the REST API document."""

    in_api_doc: ClassVar[bool] = False
    tag = "web"
    # Settings of the whole site (the wiring, the meter directory, the receipt layout): an operator kept to
    # buildings is refused it.
    site_wide: ClassVar[bool] = False

    def __init__(self, site: WebSite) -> None:
        super().__init__(site.core)
        self.site = site
