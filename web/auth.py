"""Operators, passwords (argon2), sessions, CSRF tokens, bearer API tokens, login rate limiting, permissions."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web
from sqlalchemy import delete, func, select, update
from yarl import URL

from scada_core.exceptions import OpenPrepayError
from scada_core.permissions import GLOBAL_PERMISSIONS, ROLE_ADMIN, may

from .const import (
    DISPLAY_NAME_MAX,
    LOGIN_BACKOFF_BASE,
    LOGIN_BACKOFF_MAX,
    LOGIN_THROTTLE_MAX,
    TOKEN_NAME_MAX,
    USERNAME_MAX,
)
from .models import ApiTokenRow, OperatorRow, SessionRow
from .passwords import PasswordHashing, password_problem  # in a thread: the common-password list loads on first use (0.1 s)
from .roles import Roles

if TYPE_CHECKING:
    from scada_core.clock import Clock
    from scada_core.core import Core

_LOGGER = logging.getLogger(__name__)

CACHE_S = 5.0
CACHE_MAX = 10_000


class AuthError(OpenPrepayError):
    """Wrong credentials, a throttled login or a refused change (message key in ``key``, its values in ``params``)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def text(self, catalogue: dict[str, str]) -> str:
        """Return the message in the catalogue's language."""
        return catalogue[self.key].format(**self.params)


def _check_text(value: str, longest: int, error: str, *, spaces: bool = True, empty: bool = False) -> None:
    """Refuse (AuthError ``error``) a name too long for its column, empty (unless ``empty``), with control
    characters, or with white space when ``spaces`` is False (a user name is typed at every login)."""
    if (not value and not empty) or len(value) > longest or not value.isprintable() \
            or (not spaces and any(c.isspace() for c in value)):
        raise AuthError(error)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class WebOperator:
    """The operator behind a request."""

    id: int
    username: str
    display_name: str
    role: str
    language: str
    must_change_password: bool
    via: str  # "session" or "token"
    csrf: str = ""
    permissions: frozenset[str] = frozenset()
    buildings: frozenset[str] | None = None  # None: every building

    def may(self, permission: str) -> bool:
        """Tell whether this operator's role allows ``permission``."""
        return may(self.permissions, permission)

    def billing_operator(self) -> dict[str, Any]:
        """Return the operator billing checks: id, role, the role's permissions and the buildings kept to."""
        return {"id": self.username, "role": self.role, "permissions": sorted(self.permissions),
                "buildings": None if self.buildings is None else sorted(self.buildings)}


class LoginThrottle:
    """Slow down wrong passwords per (user name, address): after ``attempts`` free failures each one doubles the wait.

    Keyed by the pair, so neither one address (many operators behind one NAT) nor one user name (anyone typing
    it wrong on purpose) locks anybody else out. A failure pair is forgotten ``window`` seconds after its last
    failure (or once its wait is over, whichever is later), and at once after a success.
    """

    def __init__(self, clock: Clock, attempts: int, window: float) -> None:
        self.clock = clock
        self.attempts = attempts
        self.window = window
        self._failures: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()

    def _delay(self, count: int) -> float:
        if count < self.attempts:
            return 0.0
        return min(LOGIN_BACKOFF_MAX, LOGIN_BACKOFF_BASE * 2 ** min(count - self.attempts, 16))

    def _live(self, key: tuple[str, str]) -> tuple[int, float] | None:
        """Return (failures, last failure time) of a pair still remembered; forget it once it has expired."""
        found = self._failures.get(key)
        if found is not None and self.clock.timestamp() - found[1] > max(self.window, self._delay(found[0])):
            del self._failures[key]
            return None
        return found

    def wait(self, remote: str, username: str) -> int:
        """Return how many seconds this user must wait before trying from this address again (0: go ahead)."""
        found = self._live((username[:64], remote))
        if found is None:
            return 0
        count, last = found
        return max(0, math.ceil(self._delay(count) - (self.clock.timestamp() - last)))

    def failed(self, remote: str, username: str) -> None:
        """Count one failure."""
        key = (username[:64], remote)
        count = (self._live(key) or (0, 0.0))[0]
        self._failures.pop(key, None)
        self._failures[key] = (count + 1, self.clock.timestamp())
        while len(self._failures) > LOGIN_THROTTLE_MAX:
            self._failures.popitem(last=False)

    def succeeded(self, remote: str, username: str) -> None:
        """Forget the failures of a user who got in from this address."""
        self._failures.pop((username[:64], remote), None)


class Auth:
    """Operator store and the checks every request goes through."""

    def __init__(
        self,
        core: Core,
        session_lifetime: float,
        attempts: int,
        window: float,
        language: str,
        hashing: PasswordHashing | None = None,
        buildings: Collection[str] = (),
    ) -> None:
        assert core.db is not None
        self.core = core
        self.roles = Roles(core)
        self.buildings = tuple(buildings)  # the building ids an operator may be kept to
        self.db = core.db
        self.hashing = hashing or PasswordHashing()
        self.session_lifetime = session_lifetime
        self.limiter = LoginThrottle(core.clock, attempts, window)
        self.default_language = language
        self._cache: dict[str, tuple[float, WebOperator | None]] = {}

    def forget(self) -> None:
        """Drop cached sessions and tokens (after any change to operators, sessions or tokens)."""
        self._cache.clear()

    # -- passwords ----------------------------------------------------------------------------------

    async def hash_password(self, password: str) -> str:
        """Return the argon2id hash at the configured cost."""
        return await self.hashing.hash(password)

    async def verify_password(self, password_hash: str | None, password: str) -> bool:
        """Return True when ``password`` matches (no hash: as slow, then False)."""
        return await self.hashing.verify(password_hash, password)

    # -- operators ----------------------------------------------------------------------------------

    @classmethod
    async def async_from_config(cls, core: Core, config: dict[str, Any], buildings: Collection[str]) -> Auth:
        """Return the operator store the web section configures, its named roles loaded."""
        auth = cls(core, config["session_hours"] * 3600, config["login_attempts"], config["login_window"],
                   core.config.language, PasswordHashing(config["password_hash"]), buildings)
        await auth.roles.async_load()
        return auth

    async def has_operators(self) -> bool:
        """Tell whether any operator exists."""
        async with self.db.session() as session:
            return bool((await session.execute(select(func.count()).select_from(OperatorRow))).scalar())

    async def ensure_seed_admin(self, username: str, password: str) -> bool:
        """Create the first admin (forced to change the password) when there is no operator yet; tell whether it still
        waits for its first login (it is the only operator and has not chosen its password)."""
        async with self.db.session() as session:
            rows = (await session.execute(select(OperatorRow.username, OperatorRow.must_change_password).limit(2))).all()
        if rows:
            return len(rows) == 1 and tuple(rows[0]) == (username, True)
        await self.create_operator(username, username, ROLE_ADMIN, password, must_change=True, checked=False)
        _LOGGER.warning("Created the initial operator %r; change its password at first login", username)
        return True

    def _check_access(self, role: str, buildings: Collection[str] | None) -> str | None:
        """Refuse an unknown role or building; return the buildings as stored (JSON list, None for all)."""
        if not self.roles.known(role):
            raise AuthError("err_role")
        if buildings is None:
            return None
        if not buildings or set(buildings) - set(self.buildings):
            raise AuthError("err_buildings")
        return json.dumps([b for b in self.buildings if b in buildings])

    async def create_operator(
        self, username: str, display_name: str, role: str, password: str, must_change: bool = True,
        checked: bool = True, buildings: Collection[str] | None = None,
    ) -> dict[str, Any]:
        """Add an operator; raise AuthError for a taken name, a bad role or building, or a password the rules
        refuse (``buildings``: those the operator is kept to; None: all).

        ``checked=False`` only for the configured first admin, who must change the password at first login."""
        _check_text(username, USERNAME_MAX, "err_bad_username", spaces=False)
        _check_text(display_name, DISPLAY_NAME_MAX, "err_bad_display_name", empty=True)
        stored_buildings = self._check_access(role, buildings)
        if checked and (problem := await self.core.async_add_executor_job(password_problem, username, password)):
            raise AuthError(problem)
        password_hash = await self.hash_password(password)
        async with self.db.write() as session:
            if (await session.execute(select(OperatorRow).where(OperatorRow.username == username))).scalar():
                raise AuthError("err_username_taken")
            row = OperatorRow(
                username=username, display_name=display_name or username, role=role, password_hash=password_hash,
                must_change_password=must_change, active=True, language=self.default_language,
                created_ts=self.core.clock.timestamp(), buildings=stored_buildings,
            )
            session.add(row)
            await session.flush()
            return operator_dict(row)

    async def display_name(self, username: str) -> str:
        """Return an operator's display name (the name itself for system operators such as a payment provider)."""
        return (await self.display_names([username]))[username]

    async def display_names(self, usernames: Iterable[str]) -> dict[str, str]:
        """Return each operator's display name in one query (the name itself for one that is no operator)."""
        wanted = set(usernames)
        async with self.db.session() as session:
            rows = await session.execute(
                select(OperatorRow.username, OperatorRow.display_name).where(OperatorRow.username.in_(wanted))
            )
            found = {username: name for username, name in rows.all() if name}
        return {username: found.get(username, username) for username in wanted}

    async def operators(self) -> list[dict[str, Any]]:
        """Return every operator (no hashes)."""
        async with self.db.session() as session:
            rows = (await session.execute(select(OperatorRow).order_by(OperatorRow.username))).scalars()
            return [operator_dict(r) for r in rows]

    async def update_operator(self, operator_id: int, **changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Change role/buildings/display_name/active/language; return (before, after). Deactivating ends its
        sessions."""
        self.forget()
        async with self.db.write() as session:
            row = await session.get(OperatorRow, operator_id)
            if row is None:
                raise AuthError("err_no_operator")
            before = operator_dict(row)
            if "display_name" in changes:
                _check_text(changes["display_name"], DISPLAY_NAME_MAX, "err_bad_display_name")
            if "role" in changes or "buildings" in changes:
                changes["buildings"] = self._check_access(
                    changes.get("role", row.role), changes.get("buildings", before["buildings"])
                )
            for name, value in changes.items():
                setattr(row, name, value)
            row_after = operator_dict(row)
            if changes.get("active") is False:
                await session.execute(delete(SessionRow).where(SessionRow.operator_id == operator_id))
                await session.execute(
                    update(ApiTokenRow).where(ApiTokenRow.operator_id == operator_id, ApiTokenRow.revoked_ts.is_(None))
                    .values(revoked_ts=self.core.clock.timestamp())
                )
        self.forget()
        return before, row_after

    async def set_password(self, operator_id: int, password: str, must_change: bool, keep_session: str = "") -> None:
        """Store a new password the rules accept and end the operator's sessions (all but ``keep_session``).

        API tokens stay: they are named credentials of their own, listed and revoked on the operators page."""
        self.forget()
        async with self.db.session() as session:
            row = await session.get(OperatorRow, operator_id)
            if row is None:
                raise AuthError("err_no_operator")
            username = row.username
        if problem := await self.core.async_add_executor_job(password_problem, username, password):
            raise AuthError(problem)
        password_hash = await self.hash_password(password)
        async with self.db.write() as session:
            row = await session.get(OperatorRow, operator_id)
            if row is None:
                raise AuthError("err_no_operator")
            row.password_hash = password_hash
            row.must_change_password = must_change
            await session.execute(delete(SessionRow).where(
                SessionRow.operator_id == operator_id, SessionRow.token_hash != _digest(keep_session)
            ))
        self.forget()

    async def change_own_password(self, operator_id: int, current: str, new: str, session_token: str) -> None:
        """Change one's own password after checking the current one; a new one must differ. Other sessions end."""
        async with self.db.session() as session:
            row = await session.get(OperatorRow, operator_id)
            if row is None:
                raise AuthError("err_no_operator")
            password_hash = row.password_hash
        if not await self.verify_password(password_hash, current):
            raise AuthError("err_wrong_password")
        if current == new:
            raise AuthError("err_password_same")
        await self.set_password(operator_id, new, must_change=False, keep_session=session_token)

    # -- sessions -----------------------------------------------------------------------------------

    async def login(self, username: str, password: str, remote: str) -> str:
        """Return a new session cookie value, or raise AuthError (err_locked with its wait / err_login)."""
        if wait := self.limiter.wait(remote, username):
            raise AuthError("err_locked", seconds=wait)
        async with self.db.session() as session:
            row = (await session.execute(select(OperatorRow).where(OperatorRow.username == username))).scalar()
            password_hash = row.password_hash if row is not None else None
            operator_id = row.id if row is not None else None
            active = row.active if row is not None else False
        ok = await self.verify_password(password_hash, password)
        if not ok or not active or operator_id is None or password_hash is None:
            self.limiter.failed(remote, username)
            raise AuthError("err_login")
        self.limiter.succeeded(remote, username)
        rehashed = await self.hash_password(password) if self.hashing.outdated(password_hash) else None
        token = secrets.token_urlsafe(32)
        now = self.core.clock.timestamp()
        async with self.db.write() as session:
            if rehashed is not None:  # made at an earlier cost: stored again at the configured one
                await session.execute(
                    update(OperatorRow).where(OperatorRow.id == operator_id).values(password_hash=rehashed)
                )
            await session.execute(delete(SessionRow).where(SessionRow.expires_ts < now))
            session.add(SessionRow(token_hash=_digest(token), operator_id=operator_id, csrf=secrets.token_urlsafe(24),
                                   created_ts=now, expires_ts=now + self.session_lifetime))
        return token

    async def logout(self, token: str) -> None:
        """End a session."""
        self.forget()
        async with self.db.write() as session:
            await session.execute(delete(SessionRow).where(SessionRow.token_hash == _digest(token)))
        self.forget()

    async def from_session(self, token: str) -> WebOperator | None:
        """Return the operator of a live session cookie (looked up at most every CACHE_S seconds)."""
        key = "s:" + _digest(token)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        operator = await self._from_session(token)
        self._remember(key, operator)
        return operator

    def _remember(self, key: str, operator: WebOperator | None) -> None:
        if len(self._cache) > CACHE_MAX:
            self._cache.clear()
        self._cache[key] = (time.monotonic(), operator)

    async def _from_session(self, token: str) -> WebOperator | None:
        async with self.db.session() as session:
            found = (
                await session.execute(
                    select(SessionRow, OperatorRow)
                    .join(OperatorRow, OperatorRow.id == SessionRow.operator_id)
                    .where(SessionRow.token_hash == _digest(token))
                )
            ).first()
        if found is None:
            return None
        session_row, row = found
        if session_row.expires_ts < self.core.clock.timestamp() or not row.active:
            return None
        return self._web_operator(row, "session", session_row.csrf)

    def _web_operator(self, row: OperatorRow, via: str, csrf: str = "") -> WebOperator:
        """Return the operator of a request: a role's permissions, less the global ones when kept to buildings."""
        buildings = operator_buildings(row)
        permissions = self.roles.permissions(row.role)
        if buildings is not None:
            permissions -= GLOBAL_PERMISSIONS
        return WebOperator(row.id, row.username, row.display_name, row.role, row.language, row.must_change_password,
                           via, csrf, permissions, buildings)

    # -- API tokens ---------------------------------------------------------------------------------

    async def create_token(self, operator_id: int, name: str) -> tuple[int, str]:
        """Create a bearer token for an operator; return (id, the token, shown once)."""
        _check_text(name, TOKEN_NAME_MAX, "err_bad_token_name")
        token = "opt_" + secrets.token_urlsafe(32)
        async with self.db.write() as session:
            row = ApiTokenRow(token_hash=_digest(token), operator_id=operator_id, name=name,
                              created_ts=self.core.clock.timestamp())
            session.add(row)
            await session.flush()
            return row.id, token

    async def revoke_token(self, token_id: int) -> bool:
        """Revoke a token; return False when it did not exist or was revoked already."""
        self.forget()
        async with self.db.write() as session:
            result = await session.execute(
                update(ApiTokenRow).where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_ts.is_(None))
                .values(revoked_ts=self.core.clock.timestamp())
            )
            revoked = bool(result.rowcount)
        self.forget()
        return revoked

    async def tokens(self) -> list[dict[str, Any]]:
        """Return every token (never the secret)."""
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(ApiTokenRow, OperatorRow.username).join(OperatorRow, OperatorRow.id == ApiTokenRow.operator_id)
                    .order_by(ApiTokenRow.id.desc())
                )
            ).all()
        return [
            {"id": t.id, "name": t.name, "username": username, "created_ts": t.created_ts,
             "revoked_ts": t.revoked_ts, "last_used_ts": t.last_used_ts}
            for t, username in rows
        ]

    async def from_token(self, token: str) -> WebOperator | None:
        """Return the operator of a live bearer token (looked up at most every CACHE_S seconds)."""
        key = "t:" + _digest(token)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        operator = await self._from_token(token)
        self._remember(key, operator)
        return operator

    async def _from_token(self, token: str) -> WebOperator | None:
        async with self.db.write() as session:
            found = (
                await session.execute(
                    select(ApiTokenRow, OperatorRow).join(OperatorRow, OperatorRow.id == ApiTokenRow.operator_id)
                    .where(ApiTokenRow.token_hash == _digest(token))
                )
            ).first()
            if found is None or found[0].revoked_ts is not None or not found[1].active:
                return None
            found[0].last_used_ts = self.core.clock.timestamp()
            return self._web_operator(found[1], "token")


def csrf_ok(expected: str, given: str | None) -> bool:
    """Compare a CSRF token in constant time."""
    return bool(expected) and given is not None and hmac.compare_digest(expected, given)


def origin_ok(request: web.Request) -> bool:
    """Tell whether the browser's Origin (or, lacking one, its Referer) is this site (scheme-agnostic host and port,
    so a TLS proxy in front keeps working); a request naming neither passes on its CSRF token alone."""
    source = request.headers.get(hdrs.ORIGIN) or request.headers.get(hdrs.REFERER)
    if not source:
        return True
    try:
        url = URL(source)
        here = URL.build(scheme=url.scheme, authority=request.host) if url.scheme in ("http", "https") else None
    except ValueError:
        return False
    return here is not None and bool(url.host) and (url.host, url.port) == (here.host, here.port)


def operator_buildings(row: OperatorRow) -> frozenset[str] | None:
    """Return the buildings an operator is kept to (None: every building)."""
    return None if row.buildings is None else frozenset(json.loads(row.buildings))


def operator_dict(row: OperatorRow) -> dict[str, Any]:
    """Return an operator without its hash."""
    buildings = operator_buildings(row)
    return {"id": row.id, "username": row.username, "display_name": row.display_name, "role": row.role,
            "active": row.active, "must_change_password": row.must_change_password, "language": row.language,
            "buildings": None if buildings is None else sorted(buildings)}


KEY_WEB_OPERATOR: web.RequestKey[WebOperator] = web.RequestKey("web_operator", WebOperator)
