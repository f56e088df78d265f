"""Versioned tariffs (新费率启用): a building default and per-meter overrides, each valid from a moment on."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from scada_core.core import humanize_invalid
from scada_core.exceptions import OpenPrepayError

from . import ledger
from .const import MODE_METER, ROLE_ADMIN
from .errors import BillingError, PermissionDenied
from .models import MeterRow, TariffVersionRow
from .tariffs import TARIFF_SCHEMA, push_payload

if TYPE_CHECKING:
    from .service import BillingService

_LOGGER = logging.getLogger(__name__)


def building_scope(building_id: str) -> str:
    """Return the tariff scope of a building's default."""
    return f"building:{building_id}"


def meter_scope(entity_id: str) -> str:
    """Return the tariff scope of one meter's override."""
    return f"meter:{entity_id}"


def validate_spec(spec: Any) -> dict[str, Any]:
    """Validate a tariff spec or raise a BillingError naming the mistake."""
    try:
        return dict(TARIFF_SCHEMA(spec))
    except vol.Invalid as err:
        raise BillingError(
            f"费率无效：{humanize_invalid(err)}", f"invalid tariff: {humanize_invalid(err)}"
        ) from None


def _version_dict(row: TariffVersionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "scope": row.scope,
        "effective_ts": row.effective_ts,
        "spec": json.loads(row.spec),
        "operator_id": row.operator_id,
        "pushed": row.pushed,
    }


class TariffMixin:
    """Store tariff versions, find the one in force, push due ones to meter-side meters."""

    async def async_load_tariffs(self: BillingService) -> None:
        """Make each building's configured tariff its current version (a changed one starts now)."""
        async with self.write() as session:
            for building_id, building in self.buildings.items():
                spec = validate_spec(building["tariff"])
                scope = building_scope(building_id)
                latest = (
                    await session.execute(
                        select(TariffVersionRow)
                        .where(TariffVersionRow.scope == scope)
                        .order_by(TariffVersionRow.effective_ts.desc(), TariffVersionRow.id.desc())
                        .limit(1)
                    )
                ).scalar_one_or_none()
                if latest is not None and json.loads(latest.spec) == spec:
                    continue
                session.add(
                    TariffVersionRow(
                        scope=scope,
                        effective_ts=0.0 if latest is None else self.now(),
                        spec=json.dumps(spec),
                        created_ts=self.now(),
                        operator_id="config",
                        pushed=False,
                    )
                )
            waiting = (
                (
                    await session.execute(
                        select(TariffVersionRow.effective_ts).where(
                            TariffVersionRow.pushed.is_(False), TariffVersionRow.effective_ts > self.now()
                        )
                    )
                )
                .scalars()
                .all()
            )
        for effective_ts in waiting:
            self.schedule_push(effective_ts)

    async def set_tariff(
        self: BillingService, scope: str, spec: dict[str, Any], effective_ts: float, operator: Any
    ) -> dict[str, Any]:
        """Add a tariff version for ``building:<id>`` or ``meter:<entity_id>`` from ``effective_ts`` (admin)."""
        operator = ledger.Operator.from_dict(operator)
        if operator.role != ROLE_ADMIN:
            raise PermissionDenied("只有管理员可以修改费率", "only an admin can change tariffs")
        kind, _, target = scope.partition(":")
        if kind == "building":
            self.building(target)
        elif kind != "meter" or not target:
            raise BillingError(
                f"费率范围无效：{scope}", f"invalid tariff scope {scope} (building:<id> or meter:<entity_id>)"
            )
        spec = validate_spec(spec)
        async with self.write() as session:
            row = TariffVersionRow(
                scope=scope,
                effective_ts=float(effective_ts),
                spec=json.dumps(spec),
                created_ts=self.now(),
                operator_id=operator.id,
                pushed=False,
            )
            session.add(row)
        if row.effective_ts <= self.now():
            await self.push_due_tariffs()
        else:
            self.schedule_push(row.effective_ts)
        return _version_dict(row)

    def schedule_push(self: BillingService, effective_ts: float) -> None:
        """Push due tariffs right when a future version takes effect."""

        async def push_then() -> None:
            await asyncio.sleep(max(effective_ts - self.now(), 0))
            await self.push_due_tariffs()

        self.core.async_create_task(push_then(), "billing tariff push")

    async def tariffs(self: BillingService, scope: str | None = None) -> list[dict[str, Any]]:
        """Return every tariff version (of one scope), newest first."""
        stmt = select(TariffVersionRow).order_by(
            TariffVersionRow.effective_ts.desc(), TariffVersionRow.id.desc()
        )
        if scope is not None:
            stmt = stmt.where(TariffVersionRow.scope == scope)
        async with self.db.session() as session:
            return [_version_dict(r) for r in (await session.execute(stmt)).scalars()]

    async def tariff_spec(
        self: BillingService, session: AsyncSession, entity_id: str, building_id: str, ts: float
    ) -> dict[str, Any]:
        """Return the tariff in force for a meter at ``ts``: its override, else its building's default."""
        row = (
            await session.execute(
                select(TariffVersionRow)
                .where(
                    or_(
                        TariffVersionRow.scope == meter_scope(entity_id),
                        TariffVersionRow.scope == building_scope(building_id),
                    ),
                    TariffVersionRow.effective_ts <= ts,
                )
                .order_by(
                    (TariffVersionRow.scope == meter_scope(entity_id)).desc(),
                    TariffVersionRow.effective_ts.desc(),
                    TariffVersionRow.id.desc(),
                )
                .limit(1)
            )
        ).scalar_one_or_none()
        if row is None:
            raise BillingError(
                f"表计 {entity_id} 没有生效的费率", f"meter {entity_id} has no tariff in force"
            )
        return dict(json.loads(row.spec))

    async def tariff_for(self: BillingService, entity_id: str, ts: float | None = None) -> dict[str, Any]:
        """Return the tariff spec in force for a meter (now by default)."""
        async with self.db.session() as session:
            meter = await session.get(MeterRow, entity_id)
            building = meter.building if meter is not None else self.building_of(entity_id)
            return await self.tariff_spec(session, entity_id, building, self.now() if ts is None else ts)

    async def push_due_tariffs(self: BillingService) -> int:
        """Push every version that has taken effect to the meter-side meters it applies to; return pushes."""
        now = self.now()
        async with self.db.session() as session:
            due = (
                (
                    await session.execute(
                        select(TariffVersionRow).where(
                            TariffVersionRow.pushed.is_(False), TariffVersionRow.effective_ts <= now
                        )
                    )
                )
                .scalars()
                .all()
            )
            meters = (
                (
                    await session.execute(
                        select(MeterRow).where(MeterRow.account_id.is_not(None), MeterRow.mode == MODE_METER)
                    )
                )
                .scalars()
                .all()
            )
        pushes = 0
        for version in due:
            kind, _, target = version.scope.partition(":")
            targets = [
                m.entity_id
                for m in meters
                if (m.entity_id == target if kind == "meter" else m.building == target)
            ]
            ok = True
            for entity_id in targets:
                async with self.db.session() as session:
                    spec = await self.tariff_spec(session, entity_id, self.building_of(entity_id), now)
                if spec != json.loads(version.spec):
                    continue  # a meter override (or a newer version) governs this meter
                try:
                    await self.call_meter(entity_id, "push_tariff", push_payload(spec))
                    pushes += 1
                except OpenPrepayError as err:
                    ok = False
                    _LOGGER.warning("Could not push tariff %s to %s: %s", version.id, entity_id, err)
            if ok:
                async with self.write() as session:
                    row = await session.get(TariffVersionRow, version.id)
                    if row is not None:
                        row.pushed = True
        return pushes
