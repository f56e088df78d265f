"""A building's business settings (报警1/报警2, 透支, 囤积限值, 过载功率) as versions with an effective time.

YAML seeds them: the first start stores the configured values as the first version, and a later change of the
YAML starts a new version at that start. An admin adds versions in the UI, now or from a later moment; the latest
version in force wins, and it is what every part reads from the building's settings (``Books.buildings``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from scada_core.permissions import PERM_SETTINGS

from . import ledger
from .const import OPERATOR_CONFIG, POLICY_NAMES
from .errors import BillingError, PermissionDenied
from .models import BuildingPolicyRow

if TYPE_CHECKING:
    from .books import Books


def _version_dict(row: BuildingPolicyRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "building": row.building,
        "effective_ts": row.effective_ts,
        "policy": json.loads(row.policy),
        "created_ts": row.created_ts,
        "operator_id": row.operator_id,
    }


def check_policy(policy: dict[str, Any]) -> dict[str, int | None]:
    """Return the policy with every name (None: not set), or raise when 报警2 is above 报警1."""
    full = {name: policy.get(name) for name in POLICY_NAMES}
    if full["alarm1_fen"] is None or full["alarm2_fen"] is None or full["overdraft_fen"] is None:
        raise BillingError("报警1、报警2 和透支额度必须填写", "alarm 1, alarm 2 and the overdraft are required")
    if full["alarm2_fen"] > full["alarm1_fen"]:
        raise BillingError("报警2 金额不能高于报警1", "alarm 2 comes at the lower balance: it cannot be above alarm 1")
    return full


class BuildingPolicies:
    """Store the versions of each building's settings and keep the ones in force in the building's settings."""

    def __init__(self, books: Books) -> None:
        self.books = books
        self.db = books.db
        # what YAML declares, before a version in force overwrites the building's settings
        self.configured = {
            building_id: {name: building.get(name) for name in POLICY_NAMES}
            for building_id, building in books.buildings.items()
        }

    async def async_load(self) -> set[float]:
        """Seed each building from YAML where it changed, apply the versions in force; return when the versions
        still to come take effect."""
        now = self.books.now()
        async with self.db.write() as session:
            for building_id, configured in self.configured.items():
                rows = (
                    await session.execute(
                        select(BuildingPolicyRow)
                        .where(BuildingPolicyRow.building == building_id)
                        .order_by(BuildingPolicyRow.id.desc())
                    )
                ).scalars().all()
                seeded = next((r for r in rows if r.operator_id == OPERATOR_CONFIG), None)
                if seeded is not None and json.loads(seeded.policy) == configured:
                    continue
                session.add(
                    BuildingPolicyRow(
                        building=building_id,
                        effective_ts=0.0 if not rows else now,
                        policy=json.dumps(configured),
                        created_ts=now,
                        operator_id=OPERATOR_CONFIG,
                    )
                )
            waiting = (
                await session.execute(
                    select(BuildingPolicyRow.effective_ts).where(BuildingPolicyRow.effective_ts > now)
                )
            ).scalars().all()
        await self.apply()
        return set(waiting)

    async def apply(self) -> None:
        """Put each building's version in force into its settings (at start and when a version takes effect)."""
        now = self.books.now()
        async with self.db.session() as session:
            rows = await session.execute(
                select(BuildingPolicyRow.building, BuildingPolicyRow.policy)
                .where(BuildingPolicyRow.effective_ts <= now)
                .order_by(BuildingPolicyRow.effective_ts, BuildingPolicyRow.id)
            )
            in_force = {building: json.loads(policy) for building, policy in rows}  # the latest wins
        for building_id, policy in in_force.items():
            building = self.books.buildings.get(building_id)
            if building is None:  # a building YAML no longer declares
                continue
            for name, value in policy.items():
                if value is None:
                    building.pop(name, None)
                else:
                    building[name] = value

    async def set_policy(
        self, building_id: str, policy: dict[str, Any], effective_ts: float, operator: Any
    ) -> dict[str, Any]:
        """Add a version of a building's settings from ``effective_ts`` (admin); applied at once when in force."""
        operator = ledger.Operator.from_dict(operator)
        if not operator.may(PERM_SETTINGS):
            raise PermissionDenied("没有修改报警和限值的权限", "not allowed to change alarm levels and limits")
        self.books.building(building_id)
        full = check_policy(policy)
        async with self.db.write() as session:
            row = BuildingPolicyRow(
                building=building_id,
                effective_ts=float(effective_ts),
                policy=json.dumps(full),
                created_ts=self.books.now(),
                operator_id=operator.id,
            )
            session.add(row)
        if row.effective_ts <= self.books.now():
            await self.apply()
        return _version_dict(row)

    async def versions(self, building_id: str | None = None) -> list[dict[str, Any]]:
        """Return the versions (of one building), newest effective first."""
        stmt = select(BuildingPolicyRow).order_by(
            BuildingPolicyRow.effective_ts.desc(), BuildingPolicyRow.id.desc()
        )
        if building_id is not None:
            stmt = stmt.where(BuildingPolicyRow.building == building_id)
        async with self.db.session() as session:
            return [_version_dict(r) for r in (await session.execute(stmt)).scalars()]

    def in_force(self, building_id: str) -> dict[str, Any]:
        """Return the settings a building has now."""
        building = self.books.building(building_id)
        return {name: building.get(name) for name in POLICY_NAMES}
