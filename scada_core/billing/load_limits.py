"""Load limiting (限电): plans that lower the overload limit (PMAX) of chosen load categories for a window.

A run of a plan is a row (scheduled → active → ended) and each meter it takes is a row with the limit the meter
held before, whether the plan's limit reached it (read back from the meter) and when it was restored. While a
run is active its limit is part of what the meter should hold (``overrides`` feeds desired.py), so the
reconciler keeps it there; at the run's end the override goes and each meter is brought back to its own or its
building's limit (or, with none configured, to what it held before). Every step is driven from the rows by a
one-second tick, so a restart in the middle resumes: a run that ended while the process was down is restored at
start-up. A meter held by staff (保电) is exempt; protected categories (重要负荷) cannot be put in a plan.
``billing_load_limit`` fires per affected account at the start and the end (phase ``start`` / ``end``), for
automations to text the tenants.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from scada_core.automation.const import EVENT_TIME_CHANGED
from scada_core.exceptions import OpenPrepayError

from .accounts import _admin
from .const import (
    EVENT_BILLING_LOAD_LIMIT,
    LOAD_METER_EXEMPT_HOLD,
    LOAD_METER_LIMITED,
    LOAD_METER_PENDING,
    LOAD_RUN_ACTIVE,
    LOAD_RUN_ENDED,
    LOAD_RUN_SCHEDULED,
    MODE_METER,
    PREPAID_HOLD,
    ROLE_SYSTEM,
)
from .errors import BillingError
from .ledger import Operator
from .models import AccountRow, LoadCategoryRow, LoadPlanRow, LoadRunMeterRow, LoadRunRow, MeterRow
from .offline import is_offline

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from scada_core.core import Event

    from .books import Books
    from .desired import DesiredState
    from .port import MeterPort

_LOGGER = logging.getLogger(__name__)

PLAN_WHAT = ("限电方案", "load-limiting plans")
RUN_WHAT = ("限电", "load limiting")
RETRY_S = 30.0  # how often meters not reached yet (offline, refused) are tried again


def plan_dict(row: LoadPlanRow) -> dict[str, Any]:
    """Return a plan as the API shows it."""
    return {
        "id": row.id, "name": row.name, "categories": json.loads(row.categories), "limit_w": row.limit_w,
        "duration_s": row.duration_s, "created_ts": row.created_ts, "operator_id": row.operator_id,
    }


def run_dict(row: LoadRunRow) -> dict[str, Any]:
    """Return a run as the API shows it."""
    return {
        "id": row.id, "plan_id": row.plan_id, "plan_name": row.plan_name, "categories": json.loads(row.categories),
        "limit_w": row.limit_w, "start_ts": row.start_ts, "end_ts": row.end_ts, "status": row.status,
        "operator_id": row.operator_id, "created_ts": row.created_ts, "started_ts": row.started_ts,
        "ended_ts": row.ended_ts,
    }


def run_meter_dict(row: LoadRunMeterRow) -> dict[str, Any]:
    """Return one meter of a run: before, the outcome and the restore."""
    return {
        "meter_entity_id": row.meter_entity_id, "account_id": row.account_id, "category": row.category,
        "previous_w": row.previous_w, "outcome": row.outcome, "limited_ts": row.limited_ts,
        "restored_w": row.restored_w, "restored_ts": row.restored_ts,
    }


class LoadLimits:
    """Plans, their runs and the tick that starts, keeps, ends and restores them."""

    def __init__(self, books: Books, meters: MeterPort, desired: DesiredState) -> None:
        self.books = books
        self.db = books.db
        self.meters = meters
        self.desired = desired
        self._busy = False
        self._next_retry = 0.0

    def async_listen(self) -> None:
        """Tick every second of the clock (and resume what a restart interrupted at the first tick)."""
        self.books.bus.async_listen(EVENT_TIME_CHANGED, self._on_tick)

    async def _on_tick(self, _event: Event) -> None:
        if self._busy:
            return
        try:
            await self.tick()
        except OpenPrepayError as err:
            _LOGGER.warning("Load limiting tick: %s", err)

    # -- plans --------------------------------------------------------------------------------------

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
            raise BillingError(f"限电方案 {plan_id} 不存在", f"load-limiting plan {plan_id} does not exist")
        return plan_dict(row)

    async def save_plan(
        self, operator: Any, name: str, categories: list[str], limit_w: int, duration_s: int,
        plan_id: int | None = None,
    ) -> dict[str, Any]:
        """Admin: create a plan (or change ``plan_id``); categories must exist and none be protected."""
        operator = _admin(operator, *PLAN_WHAT)
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
                raise BillingError(f"限电方案 {plan_id} 不存在", f"load-limiting plan {plan_id} does not exist")
            row.name, row.categories = name, json.dumps(sorted(set(categories)))
            row.limit_w, row.duration_s = limit_w, duration_s
            await session.flush()
            return plan_dict(row)

    # -- runs ---------------------------------------------------------------------------------------

    async def run_plan(
        self, plan_id: int, operator: Any, start_ts: float | None = None, duration_s: int | None = None
    ) -> dict[str, Any]:
        """Admin or automation: run a plan from ``start_ts`` (now) for ``duration_s`` (the plan's)."""
        operator = _admin_or_system(operator)
        now = self.books.now()
        start = now if start_ts is None else max(float(start_ts), now)
        async with self.db.write() as session:
            plan = await session.get(LoadPlanRow, plan_id)
            if plan is None:
                raise BillingError(f"限电方案 {plan_id} 不存在", f"load-limiting plan {plan_id} does not exist")
            run = LoadRunRow(
                plan_id=plan.id, plan_name=plan.name, categories=plan.categories, limit_w=plan.limit_w,
                start_ts=start, end_ts=start + (duration_s or plan.duration_s), status=LOAD_RUN_SCHEDULED,
                operator_id=operator.id, created_ts=now,
            )
            session.add(run)
            await session.flush()
            run_id = run.id
        await self.tick()
        return await self.run(run_id)

    async def end_run(self, run_id: int, operator: Any) -> dict[str, Any]:
        """Admin or automation: end a run now (a scheduled one never starts); its meters are restored."""
        _admin_or_system(operator)
        async with self.db.write() as session:
            run = await session.get(LoadRunRow, run_id)
            if run is None:
                raise BillingError(f"限电记录 {run_id} 不存在", f"load-limiting run {run_id} does not exist")
            if run.status != LOAD_RUN_ENDED:
                run.end_ts = min(run.end_ts, self.books.now())
                run.start_ts = min(run.start_ts, run.end_ts)
        await self.tick()
        return await self.run(run_id)

    async def run(self, run_id: int) -> dict[str, Any]:
        """Return a run with its meters."""
        async with self.db.session() as session:
            run = await session.get(LoadRunRow, run_id)
            if run is None:
                raise BillingError(f"限电记录 {run_id} 不存在", f"load-limiting run {run_id} does not exist")
            rows = await session.execute(
                select(LoadRunMeterRow).where(LoadRunMeterRow.run_id == run_id).order_by(LoadRunMeterRow.meter_entity_id)
            )
            return {**run_dict(run), "meters": [run_meter_dict(row) for row in rows.scalars()]}

    async def runs(self, limit: int = 200) -> list[dict[str, Any]]:
        """Return the newest runs with how many meters each limited."""
        async with self.db.session() as session:
            rows = (await session.execute(select(LoadRunRow).order_by(LoadRunRow.id.desc()).limit(limit))).scalars().all()
            counts = dict(
                (await session.execute(
                    select(LoadRunMeterRow.run_id, func.count())
                    .where(LoadRunMeterRow.run_id.in_([r.id for r in rows]), LoadRunMeterRow.outcome == LOAD_METER_LIMITED)
                    .group_by(LoadRunMeterRow.run_id)
                )).all()
            )
        return [{**run_dict(row), "limited": int(counts.get(row.id, 0))} for row in rows]

    async def overrides(self, entity_ids: Iterable[str] | None = None) -> dict[str, int]:
        """Return {meter: limit W} of the meters an active run limits now (the lowest when runs overlap)."""
        stmt = (
            select(LoadRunMeterRow.meter_entity_id, func.min(LoadRunRow.limit_w))
            .join(LoadRunRow, LoadRunRow.id == LoadRunMeterRow.run_id)
            .where(LoadRunRow.status == LOAD_RUN_ACTIVE, LoadRunMeterRow.outcome != LOAD_METER_EXEMPT_HOLD)
            .group_by(LoadRunMeterRow.meter_entity_id)
        )
        if entity_ids is not None:
            stmt = stmt.where(LoadRunMeterRow.meter_entity_id.in_(list(entity_ids)))
        async with self.db.session() as session:
            return {entity_id: int(limit) for entity_id, limit in await session.execute(stmt)}

    async def preview(self, plan_id: int) -> dict[str, Any]:
        """Return what running a plan now would take: {plan, meters (limited), exempt (held by staff)}."""
        plan = await self.plan(plan_id)
        async with self.db.session() as session:
            members = await self._members(session, plan["categories"])
        return {
            "plan": plan,
            "meters": [meter.entity_id for meter, held in members if not held],
            "exempt": [meter.entity_id for meter, held in members if held],
        }

    async def _members(self, session: AsyncSession, categories: list[str]) -> list[tuple[MeterRow, bool]]:
        """Return the opened meter-side meters of ``categories``, each with whether staff hold it (保电)."""
        meters = (await session.execute(
            select(MeterRow).where(
                MeterRow.account_id.is_not(None), MeterRow.mode == MODE_METER,
                MeterRow.load_category.in_(categories),
            ).order_by(MeterRow.entity_id)
        )).scalars().all()
        return [(meter, self._held(meter.entity_id)) for meter in meters]

    def _held(self, entity_id: str) -> bool:
        """Tell whether staff hold the meter (保电): a load-limiting run leaves it alone."""
        state = self.meters.state(entity_id)
        return state is not None and state.attributes.get("prepaid_mode") == PREPAID_HOLD

    # -- the tick -----------------------------------------------------------------------------------

    async def tick(self) -> None:
        """Start due runs, end finished ones, and bring their meters to the limit or back (retried)."""
        self._busy = True
        try:
            now = self.books.now()
            started = await self._start_due(now)
            ended = await self._end_due(now)
            if started or ended or now >= self._next_retry:
                self._next_retry = now + RETRY_S
                await self._limit_pending(now)
                await self._restore_pending(now)
        finally:
            self._busy = False

    async def _start_due(self, now: float) -> list[int]:
        """Activate the scheduled runs whose start has come: take their meters (exempting held ones)."""
        async with self.db.write() as session:
            runs = (await session.execute(
                select(LoadRunRow).where(LoadRunRow.status == LOAD_RUN_SCHEDULED, LoadRunRow.start_ts <= now)
            )).scalars().all()
            for run in runs:
                for meter, held in await self._members(session, json.loads(run.categories)):
                    state = self.meters.state(meter.entity_id)
                    session.add(LoadRunMeterRow(
                        run_id=run.id, meter_entity_id=meter.entity_id, account_id=meter.account_id,
                        category=meter.load_category,
                        previous_w=state.attributes.get("overload_w") if state is not None else None,
                        outcome=LOAD_METER_EXEMPT_HOLD if held else LOAD_METER_PENDING,
                    ))
                run.status, run.started_ts = (LOAD_RUN_ENDED, now) if run.end_ts <= now else (LOAD_RUN_ACTIVE, now)
                if run.status == LOAD_RUN_ENDED:
                    run.ended_ts = now
            ids = [run.id for run in runs if run.status == LOAD_RUN_ACTIVE]
        for run_id in ids:
            _LOGGER.info("Load-limiting run %s started", run_id)
            await self._announce(run_id, "start")
        return ids

    async def _end_due(self, now: float) -> list[int]:
        """End the active runs whose window is over."""
        async with self.db.write() as session:
            runs = (await session.execute(
                select(LoadRunRow).where(LoadRunRow.status == LOAD_RUN_ACTIVE, LoadRunRow.end_ts <= now)
            )).scalars().all()
            for run in runs:
                run.status, run.ended_ts = LOAD_RUN_ENDED, now
            ids = [run.id for run in runs]
        for run_id in ids:
            _LOGGER.info("Load-limiting run %s ended", run_id)
            await self._announce(run_id, "end")
        return ids

    async def _limit_pending(self, now: float) -> None:
        """Push the limit to the active runs' meters that do not hold it yet; mark those read back holding it."""
        async with self.db.session() as session:
            pending = (await session.execute(
                select(LoadRunMeterRow.id, LoadRunMeterRow.meter_entity_id)
                .join(LoadRunRow, LoadRunRow.id == LoadRunMeterRow.run_id)
                .where(LoadRunRow.status == LOAD_RUN_ACTIVE, LoadRunMeterRow.outcome == LOAD_METER_PENDING)
            )).all()
        if not pending:
            return
        await self.desired.push({entity_id for _, entity_id in pending})
        wanted = await self.overrides({entity_id for _, entity_id in pending})
        reached = [row_id for row_id, entity_id in pending if self._holds(entity_id, wanted.get(entity_id))]
        if reached:
            async with self.db.write() as session:
                await session.execute(
                    update(LoadRunMeterRow).where(LoadRunMeterRow.id.in_(reached))
                    .values(outcome=LOAD_METER_LIMITED, limited_ts=now)
                )

    async def _restore_pending(self, now: float) -> None:
        """Bring the ended runs' meters (no longer in an active run) back to their own limit, else what they held
        before; mark those read back holding it."""
        async with self.db.session() as session:
            rows = (await session.execute(
                select(LoadRunMeterRow)
                .join(LoadRunRow, LoadRunRow.id == LoadRunMeterRow.run_id)
                .where(
                    LoadRunRow.status == LOAD_RUN_ENDED, LoadRunMeterRow.restored_ts.is_(None),
                    LoadRunMeterRow.outcome != LOAD_METER_EXEMPT_HOLD,
                )
            )).scalars().all()
        if not rows:
            return
        still = await self.overrides({row.meter_entity_id for row in rows})
        rows = [row for row in rows if row.meter_entity_id not in still]
        desired = await self.desired.desired_of({row.meter_entity_id for row in rows})
        restored: dict[int, int] = {}
        for row in rows:
            own = desired[row.meter_entity_id].settings.get("overload_w") if row.meter_entity_id in desired else None
            wanted = own if own is not None else row.previous_w
            if wanted is None or is_offline(self.meters.state(row.meter_entity_id)):
                continue
            if not self._holds(row.meter_entity_id, wanted):
                try:
                    await self.meters.call(row.meter_entity_id, "push_settings", {"overload_w": wanted})
                except OpenPrepayError as err:
                    _LOGGER.warning("Could not restore %s's overload limit (retried): %s", row.meter_entity_id, err)
                    continue
            if self._holds(row.meter_entity_id, wanted):
                restored[row.id] = wanted
        if restored:
            async with self.db.write() as session:
                for row_id, wanted in restored.items():
                    await session.execute(
                        update(LoadRunMeterRow).where(LoadRunMeterRow.id == row_id)
                        .values(restored_w=wanted, restored_ts=now)
                    )

    def _holds(self, entity_id: str, limit_w: int | None) -> bool:
        """Tell whether the meter publishes ``limit_w`` as its overload limit (read from it over the bus)."""
        state = self.meters.state(entity_id)
        return limit_w is not None and state is not None and state.attributes.get("overload_w") == limit_w

    async def _announce(self, run_id: int, phase: str) -> None:
        """Fire billing_load_limit once per affected account (its phone for the SMS), exempt meters left out."""
        run = await self.run(run_id)
        by_account: dict[int, list[str]] = {}
        for meter in run["meters"]:
            if meter["outcome"] != LOAD_METER_EXEMPT_HOLD and meter["account_id"] is not None:
                by_account.setdefault(meter["account_id"], []).append(meter["meter_entity_id"])
        async with self.db.session() as session:
            accounts = {
                row.id: row for row in (await session.execute(
                    select(AccountRow).where(AccountRow.id.in_(list(by_account)))
                )).scalars()
            }
        for account_id, meters in sorted(by_account.items()):
            account = accounts.get(account_id)
            self.books.bus.async_fire(EVENT_BILLING_LOAD_LIMIT, {
                "phase": phase, "run_id": run_id, "plan": run["plan_name"], "account_id": account_id,
                "name": account.name if account else None, "phone": account.phone if account else None,
                "meters": meters, "limit_w": run["limit_w"], "start_ts": run["start_ts"], "end_ts": run["end_ts"],
            })


def _admin_or_system(operator: Any) -> Operator:
    """Return the operator of a run (an admin, or an automation as ``system``), refusing others."""
    checked = Operator.from_dict(operator)
    return checked if checked.role == ROLE_SYSTEM else _admin(checked, *RUN_WHAT)
