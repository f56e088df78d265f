"""What an operator may do: the permissions, the built-in roles' sets, and the buildings an operator is kept to.

The web layer stores named roles (their permission sets) and each operator's buildings; billing and the REST API
check the same permissions and the same buildings, so a refusal is the same whichever door a request comes in by.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

PERM_VIEW: Final = "view"  # every role: see the meters, accounts and transactions of one's buildings
PERM_SELL: Final = "sell"
PERM_REFUND: Final = "refund"
PERM_REVERSE: Final = "reverse"  # any transaction (a seller may always reverse their own sale of the same day)
PERM_ACCOUNT: Final = "account"  # open, close, move and replace; an account's top-up rule and tenant login
PERM_CONTROL: Final = "control"  # one meter's relay and settings push
PERM_BATCH: Final = "batch"  # a command to many meters at once
PERM_PRICES: Final = "prices"
PERM_SETTINGS: Final = "settings"  # alarm levels, credit, limits, system settings, the meter directory
PERM_RESOLVE: Final = "resolve"  # accept a tampered meter's money into the ledger
PERM_REPORTS: Final = "reports"  # report pages and every export
PERM_AUDIT: Final = "audit"
PERM_OPERATORS: Final = "operators"
# In the order the roles page shows them.
PERMISSIONS: Final = (
    PERM_SELL, PERM_REFUND, PERM_REVERSE, PERM_ACCOUNT, PERM_CONTROL, PERM_BATCH, PERM_PRICES, PERM_SETTINGS,
    PERM_RESOLVE, PERM_REPORTS, PERM_AUDIT, PERM_OPERATORS,
)
# Permissions that reach past any one building: an operator kept to buildings never gets them.
GLOBAL_PERMISSIONS: Final = frozenset({PERM_AUDIT, PERM_OPERATORS})

OUT_OF_SCOPE_ZH: Final = "不是您负责的楼栋"
OUT_OF_SCOPE_EN: Final = "not one of your buildings"
OUT_OF_SCOPE: Final = f"{OUT_OF_SCOPE_ZH} / {OUT_OF_SCOPE_EN}"

ROLE_ADMIN: Final = "admin"
ROLE_CASHIER: Final = "cashier"
ROLE_VIEWER: Final = "viewer"
ROLE_SYSTEM: Final = "system"  # billing itself, automations, payment providers: never a person
BUILTIN_ROLES: Final[dict[str, frozenset[str]]] = {
    ROLE_ADMIN: frozenset(PERMISSIONS),
    ROLE_CASHIER: frozenset({PERM_SELL, PERM_REFUND, PERM_ACCOUNT, PERM_REPORTS}),
    ROLE_VIEWER: frozenset({PERM_REPORTS}),
}
SYSTEM_PERMISSIONS: Final = frozenset(PERMISSIONS)


def builtin_permissions(role: str) -> frozenset[str]:
    """Return a built-in role's permissions (the system's: all; an unknown role's: none)."""
    if role == ROLE_SYSTEM:
        return SYSTEM_PERMISSIONS
    return BUILTIN_ROLES.get(role, frozenset())


def may(permissions: Iterable[str], permission: str) -> bool:
    """Tell whether a permission set allows ``permission`` (viewing is every role's)."""
    return permission == PERM_VIEW or permission in permissions


@dataclass(frozen=True, slots=True)
class Scope:
    """The buildings an operator is kept to, and how to tell a meter's building (None: not a meter)."""

    buildings: frozenset[str]
    building_of: Callable[[str], str | None]

    def building_ok(self, building: str | None) -> bool:
        """Tell whether ``building`` is one of the operator's."""
        return building is not None and building in self.buildings

    def entity_ok(self, entity_id: str) -> bool:
        """Tell whether ``entity_id`` is a meter in one of the operator's buildings."""
        return self.building_ok(self.building_of(entity_id))
