"""Load limiting (限电): plans that limit chosen load categories for a window, and their runs.

A plan either lowers the meters' overload limit (PMAX; the meter itself cuts the excess) or trips them. A run of a
plan is a row (scheduled → active → ended) and each meter it takes is a row with the limit it held before, the
outcome (read back from the meter) and its restore; load_tick.py drives every step from these rows, so a
restart in the middle resumes. While a limit run is active its limit is part of what the meter should hold
(``overrides`` feeds desired.py), so the reconciler keeps it there. A meter held (保电, by staff or friendly
credit) is exempt; protected categories (重要负荷) cannot be put in a plan.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .accounts import _admin
from .const import (
    LOAD_ACTION_LIMIT,
    LOAD_METER_EXEMPT_HOLD,
    LOAD_METER_LIMITED,
    LOAD_METER_TRIPPED,
    LOAD_RUN_ACTIVE,
    LOAD_RUN_SCHEDULED,
    MODE_METER,
    PREPAID_HOLD,
)
from .errors import BillingError
from .ledger import Operator
from .models import AccountRow, LoadCategoryRow, LoadPlanRow, LoadRunMeterRow, LoadRunRow, MeterRow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from scada_core.storage.database import Database

    from .books import Books
    from .load_tick import LoadTick
    from .port import MeterPort

PLAN_WHAT = ("限电方案", "load-limiting plans")


def plan_dict(row: LoadPlanRow) -> dict[str, Any]:
    """Return a plan as the API shows it."""
    return {
        "id": row.id, "name": row.name, "categories": json.loads(row.categories), "action": row.action,
        "limit_w": row.limit_w, "duration_s": row.duration_s, "created_ts": row.created_ts,
        "operator_id": row.operator_id,
    }


def run_dict(row: LoadRunRow) -> dict[str, Any]:
    """Return a run as the API shows it."""
    return {
        "id": row.id, "plan_id": row.plan_id, "plan_name": row.plan_name, "categories": json.loads(row.categories),
        "action": row.action, "limit_w": row.limit_w, "start_ts": row.start_ts, "end_ts": row.end_ts,
        "status": row.status, "operator_id": row.operator_id, "created_ts": row.created_ts,
        "started_ts": row.started_ts, "ended_ts": row.ended_ts,
    }


def run_meter_dict(row: LoadRunMeterRow) -> dict[str, Any]:
    """Return one meter of a run: before, the outcome and the restore."""
    return {
        "meter_entity_id": row.meter_entity_id, "account_id": row.account_id, "category": row.category,
        "previous_w": row.previous_w, "outcome": row.outcome, "limited_ts": row.limited_ts,
        "restored_w": row.restored_w, "restored_ts": row.restored_ts, "restore": row.restore,
    }


def no_plan(plan_id: int) -> BillingError:
    """Return the refusal of a plan that does not exist."""
    return BillingError(f"限电方案 {plan_id} 不存在", f"load-limiting plan {plan_id} does not exist")


def no_run(run_id: int) -> BillingError:
    """Return the refusal of a run that does not exist."""
    return BillingError(f"限电记录 {run_id} 不存在", f"load-limiting run {run_id} does not exist")


def held(meters: MeterPort, entity_id: str) -> bool:
    """Tell whether the meter is held (保电, by staff or friendly credit): load limiting leaves it alone."""
    state = meters.state(entity_id)
    return state is not None and state.attributes.get("prepaid_mode") == PREPAID_HOLD


async def members(
    session: AsyncSession, categories: list[str], buildings: Iterable[str] | None = None
) -> list[tuple[MeterRow, str]]:
    """Return the opened meter-side meters of ``categories`` (in ``buildings``; None: all), each with the category
    that takes it: the meter's own, else its account's."""
    category = func.coalesce(MeterRow.load_category, AccountRow.load_category)
    statement = select(MeterRow, category).join(AccountRow, AccountRow.id == MeterRow.account_id).where(
        MeterRow.mode == MODE_METER, category.in_(categories),
    )
    if buildings is not None:
        statement = statement.where(MeterRow.building.in_(list(buildings)))
    return [(meter, key) for meter, key in await session.execute(statement.order_by(MeterRow.entity_id))]


async def load_run(db: Database, run_id: int) -> dict[str, Any]:
    """Return a run with its meters, or raise."""
    async with db.session() as session:
        run = await session.get(LoadRunRow, run_id)
        if run is None:
            raise no_run(run_id)
        rows = await session.execute(
            select(LoadRunMeterRow).where(LoadRunMeterRow.run_id == run_id).order_by(LoadRunMeterRow.meter_entity_id)
        )
        return {**run_dict(run), "meters": [run_meter_dict(row) for row in rows.scalars()]}


async def active_limits(db: Database, entity_ids: Iterable[str] | None = None) -> dict[str, int]:
    """Return {meter: limit W} of the meters an active limit run holds now (the lowest when runs overlap); a meter
    whose limit before is not known yet (not read) is not limited until it is (load_tick.py notes it)."""
    stmt = (
        select(LoadRunMeterRow.meter_entity_id, func.min(LoadRunRow.limit_w))
        .join(LoadRunRow, LoadRunRow.id == LoadRunMeterRow.run_id)
        .where(
            LoadRunRow.status == LOAD_RUN_ACTIVE, LoadRunRow.action == LOAD_ACTION_LIMIT,
            LoadRunMeterRow.outcome != LOAD_METER_EXEMPT_HOLD, LoadRunMeterRow.previous_w.is_not(None),
        )
        .group_by(LoadRunMeterRow.meter_entity_id)
    )
    if entity_ids is not None:
        stmt = stmt.where(LoadRunMeterRow.meter_entity_id.in_(list(entity_ids)))
    async with db.session() as session:
        return {entity_id: int(limit) for entity_id, limit in await session.execute(stmt)}


class LoadLimits:
    """Plans and runs; the tick (load_tick.py) carries runs out."""

    def __init__(self, books: Books, meters: MeterPort, tick: LoadTick) -> None:
        self.books = books
        self.db = books.db
        self.meters = meters
        self.tick = tick

    async def plans(self) -> list[dict[str, Any]]:
        """Return every plan, newest first."""
        async with self.db.session() as session:
            rows = await session.execute(select(LoadPlanRow).order_by(LoadPlanRow.id.desc()))
            return [plan_dict(row) for row in rows.scalars()]

    async def plan(self, plan_id: int) -> dict[str, Any]:
        """Return one plan or raise."""
        async with self.db.session() as session:
            row = await session.get(LoadPlanRow, plan_id)
        if row is None:
            raise no_plan(plan_id)
        return plan_dict(row)

    async def save_plan(
        self, operator: Any, name: str, categories: list[str], action: str, limit_w: int | None, duration_s: int,
        plan_id: int | None = None,
    ) -> dict[str, Any]:
        """Admin: create a plan (or change ``plan_id``); categories must exist and none be protected; a limit plan
        needs its limit."""
        operator = _admin(operator, *PLAN_WHAT)
        if action == LOAD_ACTION_LIMIT and limit_w is None:
            raise BillingError("降低限值的方案需要限值(W)", "a limit plan needs limit_w")
        async with self.db.write() as session:
            known = {row.key: row for row in (await session.execute(select(LoadCategoryRow))).scalars()}
            for key in categories:
                if key not in known:
                    raise BillingError(f"未知用电性质 {key}", f"unknown load category {key}")
                if known[key].protected:
                    raise BillingError(
                        f"{known[key].name} 为重要负荷，不能限电", f"{known[key].name} is protected from limiting"
                    )
            if plan_id is None:
                row = LoadPlanRow(created_ts=self.books.now(), operator_id=operator.id)
                session.add(row)
            elif (row := await session.get(LoadPlanRow, plan_id)) is None:
                raise no_plan(plan_id)
            row.name, row.categories, row.action = name, json.dumps(sorted(set(categories))), action
            row.limit_w = limit_w if action == LOAD_ACTION_LIMIT else None
            row.duration_s = duration_s
            await session.flush()
            return plan_dict(row)

    async def preview(self, plan_id: int, operator: Any) -> dict[str, Any]:
        """Return what ``operator`` running a plan now would take: {plan, meters (limited), exempt (held)}."""
        plan = await self.plan(plan_id)
        async with self.db.session() as session:
            found = [meter.entity_id for meter, _category in await members(
                session, plan["categories"], Operator.from_dict(operator).buildings
            )]
        return {
            "plan": plan,
            "meters": [e for e in found if not held(self.meters, e)],
            "exempt": [e for e in found if held(self.meters, e)],
        }

    async def run_plan(
        self, plan_id: int, operator: Any, start_ts: float | None = None, duration_s: int | None = None,
        key: str | None = None,
    ) -> dict[str, Any]:
        """Run a plan from ``start_ts`` (now) for ``duration_s`` (the plan's); a repeated ``key`` returns the run it
        made first."""
        operator = Operator.from_dict(operator)  # its batch permission checked by the façade (operations.py)
        if key is not None and (earlier := await self._run_of_key(key, plan_id)) is not None:
            return earlier
        now = self.books.now()
        start = now if start_ts is None else max(float(start_ts), now)
        try:
            async with self.db.write() as session:
                plan = await session.get(LoadPlanRow, plan_id)
                if plan is None:
                    raise no_plan(plan_id)
                run = LoadRunRow(
                    plan_id=plan.id, plan_name=plan.name, categories=plan.categories, action=plan.action,
                    limit_w=plan.limit_w, start_ts=start, end_ts=start + (duration_s or plan.duration_s),
                    status=LOAD_RUN_SCHEDULED, operator_id=operator.id, created_ts=now, idempotency_key=key,
                    buildings=None if operator.buildings is None else json.dumps(sorted(operator.buildings)),
                )
                session.add(run)
                await session.flush()
                run_id = run.id
        except IntegrityError:
            if key is None or (earlier := await self._run_of_key(key, plan_id)) is None:
                raise
            return earlier  # a concurrent repeat made it first
        if start > now:
            await self.tick.announce_scheduled(run_id, (await self.preview(plan_id, operator))["meters"])
        await self.tick.tick()
        return await self.run(run_id)

    async def _run_of_key(self, key: str, plan_id: int) -> dict[str, Any] | None:
        """Return the run made under ``key`` (refused when it ran another plan), or None."""
        async with self.db.session() as session:
            run_id = await session.scalar(select(LoadRunRow.id).where(LoadRunRow.idempotency_key == key))
            if run_id is None:
                return None
            if (await session.get(LoadRunRow, run_id)).plan_id != plan_id:
                raise BillingError(f"请求标识 {key} 已用于另一方案", f"key {key} was used for another plan")
        await self.tick.tick()  # a repeat racing the first answers the state the first does: started once due
        return {**await self.run(run_id), "repeated": True}

    async def end_run(self, run_id: int) -> dict[str, Any]:
        """End a run now (a scheduled one never starts); its meters are restored."""
        await self.tick.end(run_id)
        await self.tick.tick()
        return await self.run(run_id)

    async def run(self, run_id: int) -> dict[str, Any]:
        """Return a run with its meters."""
        return await load_run(self.db, run_id)

    async def runs(self, limit: int = 200) -> list[dict[str, Any]]:
        """Return the newest runs with how many meters each limited or tripped."""
        async with self.db.session() as session:
            rows = (await session.execute(
                select(LoadRunRow).order_by(LoadRunRow.id.desc()).limit(limit)
            )).scalars().all()
            counts = dict((await session.execute(
                select(LoadRunMeterRow.run_id, func.count())
                .where(
                    LoadRunMeterRow.run_id.in_([r.id for r in rows]),
                    LoadRunMeterRow.outcome.in_((LOAD_METER_LIMITED, LOAD_METER_TRIPPED)),
                )
                .group_by(LoadRunMeterRow.run_id)
            )).all())
        return [{**run_dict(row), "limited": int(counts.get(row.id, 0))} for row in rows]

    async def overrides(self, entity_ids: Iterable[str] | None = None) -> dict[str, int]:
        """Return {meter: limit W} of the meters an active limit run holds now."""
        return await active_limits(self.db, entity_ids)
