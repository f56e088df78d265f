"""What a request names, checked at the edge: ids and integers within the database's range, times, dates, choices.

Path ids that are not ids answer 404 (nothing by that name); bad query or form values answer 400 with a message.
The voluptuous pieces (``DB_ID``, ``db_int``) bound the integers of JSON bodies and service data the same way.
"""
from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import date
from typing import Any, TypeVar

import voluptuous as vol
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .const import DB_INT_MAX, MAX_TIMESTAMP
from .core import valid_entity_id

T = TypeVar("T", bound=str)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_ID_DIGITS = len(str(DB_INT_MAX))
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
API_PREFIX = "/api/"  # JSON bodies (read_json checks them); the payment notifies judge their own forms


def integer(value: Any) -> int:
    """Accept an int, not a bool (JSON ``true`` is no amount)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise vol.Invalid("expected an integer")
    return value


def db_int(minimum: int = 0, maximum: int = DB_INT_MAX) -> vol.All:
    """Return a schema for an integer a database column can hold, within [minimum, maximum]."""
    return vol.All(integer, vol.Range(min=minimum, max=maximum))


DB_ID = db_int(1)
# POSIX seconds a datetime can show (refuses nan and inf, which Coerce(float) lets through from "nan" or 1e400).
TIMESTAMP = vol.All(vol.Coerce(float), vol.Range(min=0, max=MAX_TIMESTAMP))


def coerce_id(value: Any) -> int:
    """Accept an id as an integer or as its decimal text (what a rendered template gives)."""
    found = value if isinstance(value, int) and not isinstance(value, bool) else parse_id(value)
    if found is None or not 1 <= found <= DB_INT_MAX:
        raise vol.Invalid(f"expected an id (a whole number from 1 to {DB_INT_MAX})")
    return found


def strict_json(text: str) -> Any:
    """Parse a request's JSON; refuse NaN/Infinity and text no database stores (NUL, lone surrogates): ValueError."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not a JSON number")

    data = json.loads(text, parse_constant=refuse)
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending += [*value.keys(), *value.values()]
        elif isinstance(value, list):
            pending += value
        elif isinstance(value, str):
            if "\x00" in value:
                raise ValueError("text with a NUL character")
            value.encode()  # UnicodeEncodeError (a ValueError) on a lone surrogate
    return data


def parse_id(text: Any) -> int | None:
    """Return the id ``text`` names (ASCII digits, at most the database's largest integer), else None."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > MAX_ID_DIGITS:
        return None
    value = int(text)
    return value if value <= DB_INT_MAX else None


def _error(status: type[web.HTTPError], message: str) -> web.HTTPError:
    return status(text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json")


def bad_request(message: str) -> web.HTTPBadRequest:
    """Return a 400 answer with ``{"error": message}``."""
    return _error(web.HTTPBadRequest, message)  # type: ignore[return-value]


def path_id(request: web.Request, name: str) -> int:
    """Return the id in the URL part ``name``; 404 when it cannot name anything."""
    value = parse_id(request.match_info[name])
    if value is None:
        raise _error(web.HTTPNotFound, f"{name} {request.match_info[name]!r} not found")
    return value


def path_entity_id(request: web.Request, name: str = "entity_id") -> str:
    """Return the entity id in the URL part ``name``; 404 when it is not one (domain.object_id)."""
    value = request.match_info[name]
    if not valid_entity_id(value):
        raise _error(web.HTTPNotFound, f"{name} {value!r} not found")
    return value


def form_id(form: Mapping[str, Any], name: str) -> int | None:
    """Return the id a form (or query) field names, None when it is missing or names nothing."""
    value = form.get(name)
    return parse_id(value.strip()) if isinstance(value, str) else None


def query_int(request: web.Request, name: str, default: int | None = None, minimum: int = 0,
              maximum: int = DB_INT_MAX) -> int | None:
    """Return the integer query parameter ``name`` within [minimum, maximum] (``default`` when absent); else 400."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    value = parse_id(raw)
    if value is None or not minimum <= value <= maximum:
        raise bad_request(f"{name} must be an integer from {minimum} to {maximum}")
    return value


def query_timestamp(request: web.Request, name: str) -> float | None:
    """Return the POSIX-seconds query parameter ``name`` (None when absent); else 400."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw) if raw.isascii() else math.nan
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_TIMESTAMP:  # also refuses nan and inf
        raise bad_request(f"{name} must be POSIX seconds from 0 to {MAX_TIMESTAMP:.0f}")
    return value


def query_date(request: web.Request, name: str, default: date) -> date:
    """Return the ISO date query parameter ``name`` (``default`` when absent); else 400."""
    raw = request.query.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw) if raw.isascii() else date.fromisoformat("")
    except ValueError:
        raise bad_request(f"{name} must be a date such as 2026-01-31") from None


def query_choice(request: web.Request, name: str, choices: Collection[T], default: T | None = None) -> T | None:
    """Return the query parameter ``name`` if it is one of ``choices`` (``default`` when absent); else 400."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise bad_request(f"{name} must be one of {', '.join(choices)}")
    return raw  # type: ignore[return-value]


@web.middleware
async def text_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a NUL (no database stores it) in the path, the query or a form, and forms that are not UTF-8."""
    if "\x00" in request.path:
        raise _error(web.HTTPNotFound, "not found")
    if any("\x00" in value for value in request.query.values()):
        raise bad_request("the query holds a NUL character")
    if request.method == "POST" and request.content_type in FORM_TYPES and not request.path.startswith(API_PREFIX):
        try:
            form = await request.post()
        except ValueError:  # UnicodeDecodeError included
            raise bad_request("the form is not UTF-8") from None
        if any(isinstance(value, str) and "\x00" in value for value in form.values()):
            raise bad_request("the form holds a NUL character")
    return await handler(request)


class ServerLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server log, where a malformed request (aiohttp answers it 400) is one warning line, no traceback."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("aiohttp.server"), {})

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        """Log a handler's error with its traceback, a malformed request without."""
        if isinstance(exc_info, HttpProcessingError):
            self.warning(f"{msg}: %.200s", *args, exc_info)
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)
