"""The audit log: every operator action with who, what, when, from where, before and after."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from scada_core.exceptions import OpenPrepayError
from scada_core.params import parse_id, strict_json

from .const import AUDIT_ENTITY_KEYS, AUDIT_METER_ATTRIBUTES, AUDIT_PUBLIC_FIELDS, AUDIT_SECRET_WORDS
from .models import AuditRow

if TYPE_CHECKING:
    from aiohttp import web

    from scada_core.storage.database import Database

    from .auth import WebOperator
    from .site import WebSite

MAX_TEXT = 4000
MAX_REQUEST_TEXT = 2000
REDACTED = "***"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text[:MAX_TEXT]


def remote_of(request: web.Request) -> str:
    """Return the client address (a trusted proxy's client: see scada_core.http_security)."""
    return request.remote or "?"


def redact(value: Any) -> Any:
    """Return ``value`` with every secret-like field (password, code, token, key, secret ...) replaced, at any depth."""
    if isinstance(value, dict):
        return {
            k: REDACTED if isinstance(k, str) and _secret_name(k) else redact(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def _secret_name(name: str) -> bool:
    lowered = name.lower()
    return lowered not in AUDIT_PUBLIC_FIELDS and any(word in lowered for word in AUDIT_SECRET_WORDS)


def request_text(body: str) -> str:
    """Return what the audit keeps of an API request body: the JSON with secrets redacted (never raw text)."""
    if not body:
        return ""
    try:
        data = strict_json(body)
    except ValueError:  # also what no database stores (NUL, lone surrogates)
        return f"<not JSON, {len(body)} characters>"
    return json.dumps(redact(data), ensure_ascii=False)[:MAX_REQUEST_TEXT]


def api_targets(request: web.Request, body: str) -> tuple[list[str], list[int]]:
    """Return the entity ids and billing account ids an API write names (in its path or JSON body)."""
    entity_ids: list[str] = []
    account_ids: list[int] = []
    try:
        data = strict_json(body) if body else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    for key in AUDIT_ENTITY_KEYS:
        value = data.get(key)
        if isinstance(value, str):
            entity_ids.append(value)
        elif isinstance(value, list):
            entity_ids += [v for v in value if isinstance(v, str)]
    if "entity_id" in request.match_info:
        entity_ids.append(request.match_info["entity_id"])
    for value in (request.match_info.get("account_id"), data.get("account_id")):
        if isinstance(value, (int, str)) and (account_id := parse_id(str(value))) is not None:
            account_ids.append(account_id)
    return list(dict.fromkeys(entity_ids)), list(dict.fromkeys(account_ids))


async def snapshot(site: WebSite, entity_ids: list[str], account_ids: list[int]) -> dict[str, Any] | None:
    """Return what the audit keeps of those meters (state and key attributes) and accounts (wallet, status)."""
    if not entity_ids and not account_ids:
        return None
    taken: dict[str, Any] = {}
    for entity_id in entity_ids:
        state = site.core.states.get(entity_id)
        taken[entity_id] = None if state is None else {
            "state": state.state, **{k: state.attributes[k] for k in AUDIT_METER_ATTRIBUTES if k in state.attributes}
        }
    for account_id in account_ids:
        try:
            account = await site.billing.account_summary(account_id) if site.billing is not None else None
        except OpenPrepayError:  # an unknown account is the request's error, not the audit's
            account = None
        taken[f"account {account_id}"] = None if account is None else {
            k: account.get(k) for k in ("status", "wallet_fen", "overdraft_fen", "credit_cap_fen")
        }
    return taken


class AuditLog:
    """Append and query audit records."""

    def __init__(self, db: Database, clock: Any) -> None:
        self.db = db
        self.clock = clock

    async def record(
        self, request: web.Request | str, operator: WebOperator | None, action: str, target: str = "",
        before: Any = None, after: Any = None, ok: bool = True, username: str | None = None,
    ) -> None:
        """Store one action (``request`` may be the remote address already; ``username`` names an anonymous actor)."""
        remote = request if isinstance(request, str) else remote_of(request)
        async with self.db.write() as session:
            session.add(AuditRow(
                ts=self.clock.timestamp(),
                operator=operator.username if operator else (username or "-"),
                role=operator.role if operator else "-",
                action=action, target=str(target)[:255], remote=remote[:64],
                before=_text(redact(before)), after=_text(redact(after)), ok=ok,
            ))

    async def query(
        self, operator: str | None = None, action: str | None = None, target: str | None = None,
        since: float | None = None, until: float | None = None, limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Return matching records, newest first."""
        stmt = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if operator:
            stmt = stmt.where(AuditRow.operator == operator)
        if action:
            stmt = stmt.where(AuditRow.action.like(f"{action}%"))
        if target:
            stmt = stmt.where(AuditRow.target.like(f"%{target}%"))
        if since is not None:
            stmt = stmt.where(AuditRow.ts >= since)
        if until is not None:
            stmt = stmt.where(AuditRow.ts < until)
        async with self.db.session() as session:
            rows = (await session.execute(stmt)).scalars().all()
        return [
            {"id": r.id, "ts": r.ts, "operator": r.operator, "role": r.role, "action": r.action, "target": r.target,
             "remote": r.remote, "before": r.before, "after": r.after, "ok": r.ok}
            for r in rows
        ]
