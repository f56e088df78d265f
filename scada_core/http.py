"""The aiohttp server: views, error mapping and the OpenAPI document of every API route."""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from aiohttp import web

from .const import ACTOR_STAFF
from .core import Context
from .exceptions import (
    ConfigError,
    EntityNotFound,
    Forbidden,
    OpenPrepayError,
    ServiceNotFound,
    ServiceRefused,
    ServiceValidationError,
)
from .http_security import UNAUTHENTICATED_HINT, HttpSecurity, is_loopback
from .json_helpers import json_bytes
from .openapi import document as api_document
from .params import ServerLogger, strict_json, text_middleware
from .permissions import Scope

if TYPE_CHECKING:
    from .core import Core

_LOGGER = logging.getLogger(__name__)

METHODS = ("get", "post", "put", "patch", "delete")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
LOOPBACK = "127.0.0.1"
KEY_CORE: web.AppKey[Core] = web.AppKey("core")
# The authenticated operator ({"id", "role", "permissions", "buildings"}) of a request, set by the web layer's middleware.
KEY_OPERATOR: web.RequestKey[dict[str, Any]] = web.RequestKey("operator", dict)
# The buildings the request's operator is kept to, when they are (absent: every building).
KEY_SCOPE: web.RequestKey[Scope] = web.RequestKey("scope", Scope)


def json_response(data: Any, status: int = 200) -> web.Response:
    """Return ``data`` as JSON (UTF-8, non-ASCII kept)."""
    return web.Response(body=json_bytes(data), status=status, content_type="application/json", charset="utf-8")


def request_context(request: web.Request) -> Context:
    """Return the context of a request's service calls: an authenticated operator acts as staff."""
    operator = request.get(KEY_OPERATOR)
    if operator is None:
        return Context()
    return Context(user_id=str(operator["id"]), actor=ACTOR_STAFF)


def scoped_rows(request: web.Request, rows: list[dict[str, Any]], building: Callable[[dict[str, Any]], str | None]
                ) -> list[dict[str, Any]]:
    """Return the rows (``building`` tells each one's) of the buildings the request's operator is kept to (all of
    them when not kept)."""
    scope = request.get(KEY_SCOPE)
    return rows if scope is None else [row for row in rows if scope.building_ok(building(row))]


def error_response(message: str, status: int) -> web.Response:
    """Return a JSON error body ``{"error": message}``."""
    return json_response({"error": message}, status)


async def read_json(request: web.Request) -> dict[str, Any]:
    """Return the JSON object of the body (empty body = {}), or raise 400."""
    # body_exists, not can_read_body: a middleware (the audit log) may have read the body already.
    if not request.body_exists or not await request.read():
        return {}
    try:
        data = await request.json(loads=strict_json)
    except ValueError as err:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"body is not valid JSON: {err}"}), content_type="application/json"
        ) from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body must be a JSON object"}), content_type="application/json"
        )
    return data


class View:
    """A set of handlers for one URL; ``openapi`` documents each method."""

    url: ClassVar[str]
    name: ClassVar[str]
    tag: ClassVar[str] = "core"
    openapi: ClassVar[dict[str, dict[str, Any]]] = {}
    in_api_doc: ClassVar[bool] = True
    # Only admins may call it at all (it shows other people's messages or security records).
    admin_only: ClassVar[bool] = False
    public: ClassVar[bool] = False  # answered without authentication (the document says so)
    # It keeps an operator kept to buildings to them itself (filters its lists, checks what it is asked about);
    # otherwise such an operator may call it only naming meters and accounts of their buildings.
    scope_aware: ClassVar[bool] = False

    def __init__(self, core: Core) -> None:
        self.core = core

    def handlers(self) -> dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]:
        """Return the methods this view answers."""
        return {m: getattr(self, m) for m in METHODS if hasattr(self, m)}

    def openapi_paths(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Return the concrete paths (path -> method -> operation) to document instead of ``url``; {} for ``url``."""
        return {}


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn our errors into 4xx JSON answers; never leak a traceback."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except (ServiceNotFound, EntityNotFound) as err:
        return error_response(str(err), 404)
    except ServiceRefused as err:
        return error_response(str(err), 409)
    except Forbidden as err:
        return error_response(str(err), 403)
    except (ServiceValidationError, OpenPrepayError) as err:
        return error_response(str(err), 400)
    except Exception:
        _LOGGER.exception("Error handling %s %s", request.method, request.path)
        return error_response("internal error", 500)


class HttpServer:
    """Own the aiohttp application and its site."""

    def __init__(
        self, core: Core, host: str, port: int, external_url: str | None = None, security: HttpSecurity | None = None
    ) -> None:
        self.core = core
        self.host = host
        self.port = port
        self.external_url = external_url  # `http: external_url`, validated without a trailing slash
        self.security = security or HttpSecurity(False, [])
        self.app = web.Application(middlewares=[self.security.middleware, error_middleware, text_middleware],
                                   client_max_size=16 * 1024 * 1024)
        self.app.on_response_prepare.append(self.security.on_response_prepare)
        self.app[KEY_CORE] = core
        self.views: list[View] = []
        self.entry_points: list[tuple[str, str, str]] = []  # (who, path, how to log in), for welcome.py
        self.authenticated = False
        self._runner: web.AppRunner | None = None

    def public_url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        """Return the absolute URL of ``path`` that browsers and payment providers are sent to: under
        `http: external_url`, else under this server's own address (loopback when it listens on all)."""
        base = self.external_url
        if not base:
            host = LOOPBACK if self.host in WILDCARD_HOSTS else self.host
            base = f"http://{f'[{host}]' if ':' in host else host}:{self.port}"
        return f"{base}{path}?{urlencode(query)}" if query else f"{base}{path}"

    def add_auth_middleware(self, middleware: Any) -> None:
        """Install the middleware that authenticates every request (it makes listening beyond loopback allowed)."""
        self.app.middlewares.append(middleware)
        self.authenticated = True

    def add_entry_point(self, who: str, path: str, login: str) -> None:
        """Name a page to open (``who`` opens ``path``) and how to log in there, for the lines logged at start."""
        self.entry_points.append((who, path, login))

    def register_view(self, view: View) -> None:
        """Add every handler of ``view`` to the router."""
        for method, handler in view.handlers().items():
            self.app.router.add_route(method.upper(), view.url, handler, name=f"{view.name}:{method}")
        self.views.append(view)

    def openapi_document(self) -> dict[str, Any]:
        """Return an OpenAPI 3 document of every registered API view."""
        return api_document(self.views)

    async def async_start(self) -> None:
        """Start listening; refuse to listen beyond loopback when nothing authenticates requests."""
        if not self.authenticated and not is_loopback(self.host):
            raise ConfigError([f"http -> host: {self.host!r} {UNAUTHENTICATED_HINT} (if a web: section is there, "
                               "its set-up failed: see the log above)"])
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, logger=ServerLogger())
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:
            server = site._server  # noqa: SLF001 - aiohttp offers no public accessor for the bound port
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        _LOGGER.info("Web server listening on http://%s:%d", self.host, self.port)

    async def async_stop(self) -> None:
        """Stop listening and close connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
