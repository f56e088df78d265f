"""Named roles: the fixed three and those an admin makes, each a set of permissions (kept in memory, written
through to the database)."""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select

from scada_core.exceptions import OpenPrepayError
from scada_core.permissions import BUILTIN_ROLES, PERMISSIONS, builtin_permissions

from .const import ROLE_LABEL_MAX, ROLE_NAME, ROLES
from .models import OperatorRow, RoleRow

if TYPE_CHECKING:
    from scada_core.core import Core

ROLE_NAME_RE = re.compile(rf"{ROLE_NAME}\Z")


class RoleError(OpenPrepayError):
    """A refused role change (message key in ``key``)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class Roles:
    """Every role's permissions: the fixed ones from scada_core.permissions, the named ones from web_roles."""

    def __init__(self, core: Core) -> None:
        assert core.db is not None
        self.core = core
        self.db = core.db
        self._named: dict[str, dict[str, Any]] = {}

    async def async_load(self) -> None:
        """Read the named roles."""
        async with self.db.session() as session:
            rows = (await session.execute(select(RoleRow).order_by(RoleRow.name))).scalars()
            self._named = {row.name: _role_dict(row) for row in rows}

    def known(self, name: str) -> bool:
        """Tell whether ``name`` is a fixed or a named role."""
        return name in BUILTIN_ROLES or name in self._named

    def permissions(self, name: str) -> frozenset[str]:
        """Return a role's permissions (none for a role that no longer exists)."""
        named = self._named.get(name)
        return frozenset(named["permissions"]) if named is not None else builtin_permissions(name)

    def names(self) -> list[str]:
        """Return every role: the fixed ones first."""
        return [*ROLES, *self._named]

    def named(self) -> list[dict[str, Any]]:
        """Return the named roles ({name, label, permissions})."""
        return [dict(role) for role in self._named.values()]

    def label(self, name: str) -> str | None:
        """Return a named role's label (None for a fixed role: the pages translate those)."""
        named = self._named.get(name)
        return None if named is None else str(named["label"])

    async def save(self, name: str, label: str, permissions: list[str]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """Create or change a named role; return (before, after). The fixed roles cannot be changed."""
        if name in BUILTIN_ROLES:
            raise RoleError("err_role_fixed")
        if not ROLE_NAME_RE.match(name):
            raise RoleError("err_role_name")
        label = label.strip()
        if not label or len(label) > ROLE_LABEL_MAX:
            raise RoleError("err_role_label")
        if set(permissions) - set(PERMISSIONS):
            raise RoleError("err_bad_input")
        ordered = [p for p in PERMISSIONS if p in permissions]
        before = self._named.get(name)
        async with self.db.write() as session:
            row = await session.get(RoleRow, name)
            if row is None:
                row = RoleRow(name=name)
                session.add(row)
            row.label, row.permissions, row.updated_ts = label, json.dumps(ordered), self.core.clock.timestamp()
            after = _role_dict(row)
        self._named[name] = after
        return (None if before is None else dict(before)), dict(after)

    async def delete(self, name: str) -> dict[str, Any]:
        """Delete a named role no operator holds; return what it was."""
        if name not in self._named:
            raise RoleError("err_role_fixed" if name in BUILTIN_ROLES else "err_no_role")
        async with self.db.write() as session:
            held = (await session.execute(
                select(func.count()).select_from(OperatorRow).where(OperatorRow.role == name)
            )).scalar_one()
            if held:
                raise RoleError("err_role_in_use")
            await session.execute(delete(RoleRow).where(RoleRow.name == name))
        return self._named.pop(name)


def _role_dict(row: RoleRow) -> dict[str, Any]:
    return {"name": row.name, "label": row.label, "permissions": json.loads(row.permissions)}
