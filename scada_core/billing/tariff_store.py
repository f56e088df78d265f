"""Versioned tariffs (新费率启用): a building default and per-meter overrides, each valid from a moment on."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from scada_core.core import humanize_invalid

from scada_core.permissions import PERM_PRICES

from . import ledger
from .const import MODE_METER, OPERATOR_CONFIG
from .errors import BillingError, PermissionDenied
from .models import MeterRow, TariffVersionRow
from .tariffs import KIND_TIERED, TARIFF_SCHEMA, tiered_refusal

if TYPE_CHECKING:
    from .books import Books
    from .opened import OpenedMeters
    from .port import MeterPort

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
    }


class Tariffs:
    """Store tariff versions and find the one in force (meters are brought to it by desired.py)."""

    def __init__(self, books: Books, meters: MeterPort, opened: OpenedMeters) -> None:
        self.books = books
        self.db = books.db
        self.meters = meters
        self.opened = opened

    async def async_load(self) -> set[float]:
        """Seed each building's tariff from YAML (a changed one starts now; versions added in the UI stay);
        return when the versions still to come take effect."""
        async with self.db.write() as session:
            for building_id, building in self.books.buildings.items():
                spec = validate_spec(building["tariff"])
                scope = building_scope(building_id)
                versions = (
                    await session.execute(
                        select(TariffVersionRow.spec, TariffVersionRow.operator_id)
                        .where(TariffVersionRow.scope == scope)
                        .order_by(TariffVersionRow.id.desc())
                    )
                ).all()
                # YAML seeds: compared with what it seeded last, so a version added in the UI outlives a restart
                seeded = next((v for v, who in versions if who == OPERATOR_CONFIG), None)
                if seeded is not None and json.loads(seeded) == spec:
                    continue
                session.add(
                    TariffVersionRow(
                        scope=scope,
                        effective_ts=0.0 if not versions else self.books.now(),
                        spec=json.dumps(spec),
                        created_ts=self.books.now(),
                        operator_id=OPERATOR_CONFIG,
                    )
                )
            waiting = (
                (
                    await session.execute(
                        select(TariffVersionRow.effective_ts).where(
                            TariffVersionRow.effective_ts > self.books.now()
                        )
                    )
                )
                .scalars()
                .all()
            )
        return set(waiting)

    async def set_tariff(
        self, scope: str, spec: dict[str, Any], effective_ts: float, operator: Any
    ) -> dict[str, Any]:
        """Add a tariff version for ``building:<id>`` or ``meter:<entity_id>`` from ``effective_ts`` (admin;
        the façade brings meters to it when it takes effect)."""
        operator = ledger.Operator.from_dict(operator)
        if not operator.may(PERM_PRICES):
            raise PermissionDenied("没有修改费率的权限", "not allowed to change tariffs")
        kind, _, target = scope.partition(":")
        if kind == "building":
            self.books.building(target)
        elif kind != "meter" or not target:
            raise BillingError(
                f"费率范围无效：{scope}", f"invalid tariff scope {scope} (building:<id> or meter:<entity_id>)"
            )
        spec = validate_spec(spec)
        if spec["kind"] == KIND_TIERED:
            await self._refuse_tiered(kind, target)
        async with self.db.write() as session:
            row = TariffVersionRow(
                scope=scope,
                effective_ts=float(effective_ts),
                spec=json.dumps(spec),
                created_ts=self.books.now(),
                operator_id=operator.id,
            )
            session.add(row)
        return _version_dict(row)

    async def _refuse_tiered(self, kind: str, target: str) -> None:
        """Refuse a tiered tariff for a meter-side meter, or a building with one (they cannot switch bands)."""
        if kind == "meter":
            meter_side = [target] if self.opened.mode_of(target) == MODE_METER else []
        else:
            async with self.db.session() as session:
                opened = (
                    await session.execute(
                        select(MeterRow.entity_id).where(
                            MeterRow.building == target, MeterRow.mode == MODE_METER
                        )
                    )
                ).scalars()
                meter_side = sorted(
                    {
                        *opened,
                        *(
                            s.entity_id
                            for s in self.meters.states.async_all()
                            if s.attributes.get("billing") == MODE_METER
                            and self.books.building_of(s.entity_id) == target
                        ),
                    }
                )
        if meter_side:
            raise BillingError(*tiered_refusal(meter_side[0]))

    async def tariffs(self, scope: str | None = None) -> list[dict[str, Any]]:
        """Return every tariff version (of one scope), newest first."""
        stmt = select(TariffVersionRow).order_by(
            TariffVersionRow.effective_ts.desc(), TariffVersionRow.id.desc()
        )
        if scope is not None:
            stmt = stmt.where(TariffVersionRow.scope == scope)
        async with self.db.session() as session:
            return [_version_dict(r) for r in (await session.execute(stmt)).scalars()]

    async def tariff_spec(
        self, session: AsyncSession, entity_id: str, building_id: str, ts: float
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

    async def tariff_for(self, entity_id: str, ts: float | None = None) -> dict[str, Any]:
        """Return the tariff spec in force for a meter (now by default)."""
        async with self.db.session() as session:
            meter = await session.get(MeterRow, entity_id)
            building = meter.building if meter is not None else self.books.building_of(entity_id)
            at = self.books.now() if ts is None else ts
            return await self.tariff_spec(session, entity_id, building, at)

    async def specs_in_force(
        self, session: AsyncSession, ts: float
    ) -> dict[str, dict[str, Any]]:
        """Return the spec in force at ``ts`` of every scope (building defaults and meter overrides)."""
        rows = await session.execute(
            select(TariffVersionRow.scope, TariffVersionRow.spec)
            .where(TariffVersionRow.effective_ts <= ts)
            .order_by(TariffVersionRow.effective_ts, TariffVersionRow.id)
        )
        return {scope: json.loads(spec) for scope, spec in rows}  # the latest version of a scope wins

    @staticmethod
    def spec_of(specs: dict[str, dict[str, Any]], entity_id: str, building_id: str) -> dict[str, Any] | None:
        """Return a meter's spec from ``specs_in_force``: its override, else its building's default."""
        return specs.get(meter_scope(entity_id)) or specs.get(building_scope(building_id))
