"""The request middleware: who is calling (session cookie or bearer token) and what /api/* allows them."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from scada_core.const import METRICS_PATH
from scada_core.exceptions import Forbidden, OpenPrepayError
from scada_core.http import KEY_OPERATOR, KEY_SCOPE, error_response
from scada_core.permissions import (
    PERM_ACCOUNT,
    PERM_AUDIT,
    PERM_BATCH,
    PERM_CONTROL,
    PERM_PRICES,
    PERM_REFUND,
    PERM_REVERSE,
    PERM_SELL,
    PERM_SETTINGS,
    PERM_VIEW,
)

from .audit import api_targets, request_text, snapshot
from .auth import KEY_WEB_OPERATOR, WebOperator, csrf_ok, origin_ok
from .const import CSRF_HEADER, FOREIGN_PREFIXES, SESSION_COOKIE
from .scoping import OutOfScope, check_targets, page_targets, path_targets, scope_of

if TYPE_CHECKING:
    from .site import WebSite

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_LOGGER = logging.getLogger(__name__)
ERROR_PAGES = (403, 404, 500)
NO_ERROR_PAGES = ("/web/", "/static/", "/branding/")  # the pages' data, files: their errors stay plain
SELL_SUFFIXES = ("/api/billing/sales", "/payments")
ACCOUNT_PATHS = ("/api/billing/accounts", "/close", "/move", "/replace", "/topup_rule")
CONTROL_PREFIXES = ("/api/services/", "/api/field/")
BATCH_PATH = "/api/field/batch"
PRICES_PATH = "/api/billing/tariffs"


def api_action(method: str, path: str) -> str:
    """Return the permission an /api/* request needs."""
    if method in ("GET", "HEAD", "OPTIONS"):
        return PERM_VIEW
    if path.startswith("/api/billing/"):
        if path.endswith(SELL_SUFFIXES):
            return PERM_SELL
        if path == "/api/billing/refunds":
            return PERM_REFUND
        if path.endswith("/reverse"):
            return PERM_REVERSE
        if path.endswith(ACCOUNT_PATHS):
            return PERM_ACCOUNT
        if path == PRICES_PATH:
            return PERM_PRICES
    if path == BATCH_PATH:
        return PERM_BATCH
    if path.startswith(CONTROL_PREFIXES):
        return PERM_CONTROL
    return PERM_SETTINGS


def permits(operator: WebOperator, action: str) -> bool:
    """Tell whether ``operator`` may make a request needing ``action`` (a seller may ask to reverse their own
    sale of the day: billing checks which)."""
    return operator.may(action) or (action == PERM_REVERSE and operator.may(PERM_SELL))


def _view_says(request: web.Request, flag: str) -> bool:
    """Return the ``flag`` class attribute of the view answering ``request`` (False for no view)."""
    return bool(getattr(getattr(request.match_info.handler, "__self__", None), flag, False))


def scope_aware(request: web.Request) -> bool:
    """Return True when the view answering ``request`` keeps an operator to their buildings itself."""
    return _view_says(request, "scope_aware")


async def scope_refusal(site: WebSite, request: web.Request, entity_ids: list[str], account_ids: list[int]) -> str:
    """Return why an operator kept to buildings may not make this API request ("" when they may): every meter,
    account and transaction it names must be in their buildings, and a view that does not keep to buildings
    itself must name one."""
    _, _, transaction_id, building = path_targets(request)
    if not (entity_ids or account_ids or transaction_id or building or scope_aware(request)):
        return "not available to an operator kept to buildings"
    try:
        await check_targets(site, request[KEY_SCOPE], entity_ids, account_ids, transaction_id, building)
    except OutOfScope as err:
        return str(err)
    return ""


def admin_only(request: web.Request) -> bool:
    """Return True when the view answering ``request`` is for admins only (View.admin_only)."""
    return _view_says(request, "admin_only")


def public(request: web.Request) -> bool:
    """Return True when anyone may call the view answering ``request`` (View.public: liveness, a payment
    provider's signed notifications, checked by the provider)."""
    return _view_says(request, "public")


async def with_error_pages(site: WebSite, request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer a staff page's 403, 404 or unexpected error with a page in the site's layout (navigation kept,
    no traceback shown; the error is logged once). Our own refusals are not unexpected: they pass through."""
    try:
        if (scope := request.get(KEY_SCOPE)) is not None:
            if _view_says(request, "site_wide"):
                raise OutOfScope(request.path)
            await check_targets(site, scope, *await page_targets(request))
        return await handler(request)
    except web.HTTPException as err:
        if err.status not in ERROR_PAGES or err.content_type == "text/html":
            raise
        detail = err.text if err.text and not err.text.startswith(f"{err.status}:") else ""
        return site.render(request, "error.html", status=err.status, code=err.status, detail=detail)
    except Forbidden as err:  # another building's meter, account or transaction; a role's refusal in billing
        return site.render(request, "error.html", status=403, code=403, detail=str(err))
    except OpenPrepayError:  # a refusal (the caller's mistake): the core answers it as before, with no traceback
        raise
    except Exception:
        _LOGGER.exception("Error showing %s %s", request.method, request.path)
        return site.render(request, "error.html", status=500, code=500, detail="")


def make_middleware(site: WebSite) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Return the auth middleware bound to ``site``."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith(FOREIGN_PREFIXES) or path.startswith("/static/web/"):
            return await handler(request)
        operator = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and (path.startswith("/api/") or path == METRICS_PATH):
            operator = await site.auth.from_token(header[7:].strip())
        elif (cookie := request.cookies.get(SESSION_COOKIE)) is not None:
            operator = await site.auth.from_session(cookie)
        if operator is not None:
            request[KEY_WEB_OPERATOR] = operator
            request[KEY_OPERATOR] = operator.billing_operator()
            if (scope := scope_of(site, operator)) is not None:
                request[KEY_SCOPE] = scope
        if not path.startswith("/api/") or public(request):
            return await handler(request) if path.startswith(NO_ERROR_PAGES) else await with_error_pages(
                site, request, handler)
        if operator is None:
            return error_response("authentication required", 401)
        if operator.must_change_password:
            return error_response("password change required", 403)
        action = api_action(request.method, path)
        needed = PERM_AUDIT if admin_only(request) else action
        if not permits(operator, needed):
            await site.audit.record(request, operator, f"api_refused:{needed}", f"{request.method} {path}", ok=False)
            return error_response(f"role {operator.role} may not {needed}", 403)
        body = (await request.read()).decode("utf-8", "replace") if request.can_read_body else ""
        entity_ids, account_ids = api_targets(request, body)
        if KEY_SCOPE in request and (refusal := await scope_refusal(site, request, entity_ids, account_ids)):
            await site.audit.record(request, operator, "api_refused:building", f"{request.method} {path}",
                                    after={"error": refusal}, ok=False)
            return error_response(refusal, 403)
        if action == PERM_VIEW:
            return await handler(request)
        if operator.via == "session" and not (
            origin_ok(request) and csrf_ok(operator.csrf, request.headers.get(CSRF_HEADER))
        ):
            await site.audit.record(request, operator, "csrf_refused", f"{request.method} {path}", ok=False)
            return error_response("missing or wrong CSRF token", 403)
        before = await snapshot(site, entity_ids, account_ids)
        try:
            response = await handler(request)
        except Exception:
            await site.audit.record(request, operator, f"api:{action}", f"{request.method} {path}", before=before,
                                    after={"request": request_text(body)}, ok=False)
            raise
        after = {"request": request_text(body), "status": response.status}
        if (taken := await snapshot(site, entity_ids, account_ids)) is not None:
            after["targets"] = taken
        await site.audit.record(
            request, operator, f"api:{action}", f"{request.method} {path}", before=before, after=after,
            ok=response.status < 400,
        )
        return response

    return middleware
