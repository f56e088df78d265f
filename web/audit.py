"""The audit log: every operator action with who, what, when, from where, before and after."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from scada_core.exceptions import OpenPrepayError
from scada_core.params import parse_id, strict_json
from scada_core.reports.table import Table

from .format import Formatter
from .const import AUDIT_ENTITY_KEYS, AUDIT_RAW_ONLY, AUDIT_METER_ATTRIBUTES, AUDIT_PUBLIC_FIELDS, AUDIT_SECRET_WORDS
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
        since: float | None = None, until: float | None = None, limit: int = 500, offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Return matching records, newest first (``offset`` of them skipped: paging)."""
        stmt = _filtered(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit).offset(offset),
                         operator, action, target, since, until)
        async with self.db.session() as session:
            rows = (await session.execute(stmt)).scalars().all()
        return [
            {"id": r.id, "ts": r.ts, "operator": r.operator, "role": r.role, "action": r.action, "target": r.target,
             "remote": r.remote, "before": r.before, "after": r.after, "ok": r.ok}
            for r in rows
        ]

    async def count(
        self, operator: str | None = None, action: str | None = None, target: str | None = None,
        since: float | None = None, until: float | None = None,
    ) -> int:
        """Return how many records match (for paging)."""
        stmt = _filtered(select(func.count(AuditRow.id)), operator, action, target, since, until)
        async with self.db.session() as session:
            return int((await session.execute(stmt)).scalar_one())

    async def choices(self) -> tuple[list[str], list[str]]:
        """Return the operators and the actions the log holds (the filters' choices)."""
        async with self.db.session() as session:
            operators = (await session.execute(select(AuditRow.operator).distinct())).scalars().all()
            actions = (await session.execute(select(AuditRow.action).distinct())).scalars().all()
        return sorted(operators), sorted(actions)


def _filtered(stmt: Any, operator: str | None, action: str | None, target: str | None, since: float | None,
              until: float | None) -> Any:
    """Return ``stmt`` narrowed to who, what (an action's prefix; ``name$``: exactly it), which target and when."""
    if operator:
        stmt = stmt.where(AuditRow.operator == operator)
    if action:
        stmt = stmt.where(AuditRow.action == action[:-1] if action.endswith("$") else AuditRow.action.like(f"{action}%"))
    if target:
        stmt = stmt.where(AuditRow.target.like(f"%{target}%"))
    if since is not None:
        stmt = stmt.where(AuditRow.ts >= since)
    if until is not None:
        stmt = stmt.where(AuditRow.ts < until)
    return stmt


WHOLE_VALUES = ("tariff",)  # mappings written as one value (单一电价 1.00→单一电价 1.25), not field by field


@dataclass(frozen=True)
class AuditReader:
    """Writes audit records for people: actions, roles and targets by name, changes as ``继电器 合闸→拉闸``."""

    fmt: Formatter
    meter_name: Callable[[str], str]
    is_meter: Callable[[str], bool]
    building_name: Callable[[str], str] = str

    def action(self, action: str) -> str:
        """An action's name (``meter:trip`` -> 遥控：拉闸)."""
        t = self.fmt.t
        if f"act_{action}" in t:
            return t[f"act_{action}"]
        prefix, _, detail = action.partition(":")
        if detail and f"act_{prefix}" in t:
            named = t.get(f"svc_{detail}") or t.get(f"perm_{detail}") or detail
            return t[f"act_{prefix}"].format(detail=named)
        return action

    def role(self, role: str) -> str:
        """A role's name (管理员)."""
        return self.fmt.t.get(f"role_{role}", role)

    def target(self, target: str) -> tuple[str, str]:
        """A target as people call it, and its identifier for the advanced line ("" when they are the same)."""
        t = self.fmt.t
        if self.is_meter(target):
            return self.meter_name(target), target
        scope, _, named = target.partition(":")  # a tariff's or a building's settings' scope
        if scope == "meter" and self.is_meter(named):
            return self.meter_name(named), target
        if scope == "building" and named:
            return self.building_name(named), target
        word, _, rest = target.partition(" ")
        if rest.isdigit() and f"{word}_target" in t:
            return t[f"{word}_target"].format(id=rest), ""
        if word == "account" and rest.isdigit():
            return t["acct_target"].format(id=rest), ""
        if word.isdigit() and rest == "meters":
            return t["meters_target"].format(count=word), ""
        if "," in target and all(self.is_meter(m) for m in target.split(",")):
            return "、".join(self.meter_name(m) for m in target.split(",")), target
        return target, ""

    def record_target(self, record: dict[str, Any]) -> tuple[str, str]:
        """A record's target by name; an API call's is what its snapshot names (the method and path: advanced)."""
        method, _, path = record["target"].partition(" ")
        if not (path.startswith("/") and method.isupper()):
            return self.target(record["target"])
        snapshot = _parsed(record["before"])
        named = [self.target(key)[0] for key in snapshot] if isinstance(snapshot, dict) else []
        return "、".join(named) or self.fmt.t["api_target"], record["target"]

    def changes(self, before_text: str | None, after_text: str | None) -> list[str]:
        """What a record changed, one line each, in words."""
        before, after = _parsed(before_text), _parsed(after_text)
        if isinstance(after, dict) and "request" in after:  # an API call: its targets' snapshot after it
            after = {**{k: v for k, v in after.items() if k not in ("targets", *AUDIT_RAW_ONLY)},
                     **(after.get("targets") or {})}
        if _rows_of_meters(before) or _rows_of_meters(after):  # a directory import: the rows before and after
            before = {r["entity_id"]: r for r in before or []}
            after = {r["entity_id"]: r for r in after or []}
        if isinstance(before, dict) or isinstance(after, dict):
            before = before if isinstance(before, dict) else {}
            after = after if isinstance(after, dict) else {}
            lines = []
            for key in [*before, *(k for k in after if k not in before)]:
                old, new = before.get(key), after.get(key)
                if (isinstance(old, dict) or isinstance(new, dict)) and key not in WHOLE_VALUES:  # a meter's snapshot
                    name = self.target(key)[0]
                    lines += [f"{name}: {line}" for line in self.changes(_text(old), _text(new))]
                elif key not in before:  # a value the action set or answered (amount, receipt no.)
                    lines.append(self.fmt.t["audit_set"].format(
                        name=self.fmt.label(key), value=self.fmt.attribute(key, self._value(key, new))))
                elif key not in after:  # a value as the action found it
                    lines.append(self.fmt.t["audit_was"].format(
                        name=self.fmt.label(key), value=self.fmt.attribute(key, self._value(key, old))))
                elif old != new:
                    lines += self.fmt.changes({key: self._value(key, old)}, {key: self._value(key, new)})
            return lines
        if before is None and after is None:
            return []
        return [self.fmt.t["audit_changed"].format(name="", before=self._list(before), after=self._list(after)).strip()]

    def _value(self, key: str, value: Any) -> Any:
        """A value Formatter.attribute does not know by its key: roles, account statuses, meters, lists."""
        if key == "role" and isinstance(value, str):
            return self.role(value)
        if key == "status" and isinstance(value, str):
            return self.fmt.enum("acct", value) if f"acct_{value}" in self.fmt.t else self.fmt.t.get(value, value)
        if key in ("reason", "error") and isinstance(value, str) and value in self.fmt.t:  # a message key
            return self.fmt.t[value]
        if key == "kind" and isinstance(value, str):
            return self.fmt.enum("kind", value)
        if isinstance(value, list | str):
            return self._list(value)
        return value

    def _list(self, value: Any) -> str:
        """A list (or one value) with meters by name."""
        if value is None:
            return self.fmt.t["empty_value"]
        items = value if isinstance(value, list) else [value]
        return "、".join(self.meter_name(v) if isinstance(v, str) and self.is_meter(v) else
                        json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else str(v) for v in items)


def audit_table(reader: AuditReader, rows: list[dict[str, Any]]) -> Table:
    """The audit records as a report table (the Excel export), in the reader's language."""
    t, fmt = reader.fmt.t, reader.fmt
    table = Table(t["nav_audit"], [t["col_time"], t["col_operator"], t["role"], t["action"], t["target"],
                                   t["remote"], t["changes"], t["col_result"], t["raw_record"]])
    for r in rows:
        name, identifier = reader.record_target(r)
        table.rows.append([
            fmt.when(r["ts"], seconds=True), r["operator"], reader.role(r["role"]), reader.action(r["action"]),
            f"{name} ({identifier})" if identifier else name, r["remote"],
            "\n".join(reader.changes(r["before"], r["after"])), t[f"ok_{bool(r['ok'])}"],
            "\n".join(x for x in (r["before"], r["after"]) if x)])
    return table


def _rows_of_meters(value: Any) -> bool:
    """Whether ``value`` is a list of meter directory rows."""
    return isinstance(value, list) and bool(value) and all(isinstance(r, dict) and "entity_id" in r for r in value)


def _parsed(text: str | None) -> Any:
    """The JSON an audit record keeps (a cut-off text as itself)."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
