"""The audit log: every operator action with who, what, when, from where, before and after."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .models import AuditRow

if TYPE_CHECKING:
    from aiohttp import web

    from scada_core.storage.database import Database

    from .auth import WebOperator

MAX_TEXT = 4000


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text[:MAX_TEXT]


def remote_of(request: web.Request) -> str:
    """Return the client address (the proxy's X-Forwarded-For first hop when present)."""
    forwarded = request.headers.get("X-Forwarded-For")
    return (forwarded.split(",")[0].strip() if forwarded else request.remote) or "?"


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
        async with self.db.session() as session:
            session.add(AuditRow(
                ts=self.clock.timestamp(),
                operator=operator.username if operator else (username or "-"),
                role=operator.role if operator else "-",
                action=action, target=str(target)[:255], remote=remote[:64],
                before=_text(before), after=_text(after), ok=ok,
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
