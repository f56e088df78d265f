"""The load-limiting tick: each second of the clock it starts due runs, ends finished ones, brings their meters to
the limit (or off) and back, and retries what a meter did not take (offline, refused) every RETRY_S.

A limit run's meters get the plan's limit through the desired state; at the end each gets its own or its
building's limit back, or with none configured what it held before. A trip run switches its meters off as the
system (control precedence: never a meter staff hold, and staff can always take it over); at the end it
releases only meters whose relay it still holds (its own trip is the last control change), back to prepaid
control, so a meter in arrears stays off and one staff took over is left to them. ``billing_load_limit`` fires
per affected account when a run is scheduled (``scheduled``), starts (``start``, before the meters change) and
ends (``end``), for automations to text the tenants.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update

from scada_core.automation.const import EVENT_TIME_CHANGED
from scada_core.const import ACTOR_SYSTEM
from scada_core.core import Context
from scada_core.exceptions import OpenPrepayError

from .const import (
    EVENT_BILLING_LOAD_LIMIT,
    LOAD_ACTION_LIMIT,
    LOAD_ACTION_TRIP,
    LOAD_LEFT,
    LOAD_METER_EXEMPT_HOLD,
    LOAD_METER_EXEMPT_OFF,
    LOAD_METER_LIMITED,
    LOAD_METER_PENDING,
    LOAD_METER_TRIPPED,
    LOAD_RESTORED,
    LOAD_RUN_ACTIVE,
    LOAD_RUN_ENDED,
    LOAD_RUN_SCHEDULED,
    RELAY_OPEN,
)
from .control import ControlRefused
from .desired import PUSH_CONCURRENCY
from .load_limits import active_limits, held, load_run, members, no_run
from .models import AccountRow, LoadRunMeterRow, LoadRunRow, MeterRow
from .offline import is_offline

if TYPE_CHECKING:
    from scada_core.core import Event

    from .books import Books
    from .desired import DesiredState
    from .port import MeterPort
    from .relay_guard import RelayGuard

_LOGGER = logging.getLogger(__name__)

RETRY_S = 30.0  # how often meters not reached yet (offline, refused) are tried again
EXEMPT = (LOAD_METER_EXEMPT_HOLD, LOAD_METER_EXEMPT_OFF)
REACHED = (LOAD_METER_LIMITED, LOAD_METER_TRIPPED)


def actor_of(run_id: int) -> Context:
    """Return the context a run's relay commands carry: the system, named by the run (the control record)."""
    return Context(user_id=f"load_run:{run_id}", actor=ACTOR_SYSTEM)


class LoadTick:
    """Carry load-limiting runs out, from their rows."""

    def __init__(self, books: Books, meters: MeterPort, desired: DesiredState, relay_guard: RelayGuard) -> None:
        self.books = books
        self.db = books.db
        self.meters = meters
        self.desired = desired
        self.relay_guard = relay_guard
        self._advance = asyncio.Lock()
        self._applying: asyncio.Task[None] | None = None
        self._again = False
        self._next_retry = 0.0

    def async_listen(self) -> None:
        """Tick every second of the clock (the first tick resumes what a restart interrupted)."""
        self.books.bus.async_listen(EVENT_TIME_CHANGED, self._on_tick)

    async def _on_tick(self, _event: Event) -> None:
        if self._advance.locked():
            return
        try:
            await self.tick()
        except OpenPrepayError as err:
            _LOGGER.warning("Load limiting tick: %s", err)

    async def tick(self) -> None:
        """Start due runs and end finished ones; then (and every RETRY_S) bring meters to the limit or back."""
        if await self.advance() or self.books.now() >= self._next_retry:
            self.kick()

    async def advance(self) -> bool:
        """Start the runs whose start has come and end those whose window is over; tell whether any did."""
        async with self._advance:
            now = self.books.now()
            if not await self._any_due(now):
                return False  # the usual second: one read, no write turn taken
            started = await self._start_due(now)
            ended = await self._end_due(now)
        return bool(started or ended)

    async def _any_due(self, now: float) -> bool:
        """Tell whether a run is due to start or to end."""
        async with self.db.session() as session:
            return await session.scalar(select(LoadRunRow.id).where(or_(
                and_(LoadRunRow.status == LOAD_RUN_SCHEDULED, LoadRunRow.start_ts <= now),
                and_(LoadRunRow.status == LOAD_RUN_ACTIVE, LoadRunRow.end_ts <= now),
            )).limit(1)) is not None

    async def end(self, run_id: int) -> None:
        """End a run now: an active one at the next advance, a scheduled one at once (it never takes a meter)."""
        async with self._advance, self.db.write() as session:
            run = await session.get(LoadRunRow, run_id)
            if run is None:
                raise no_run(run_id)
            now = self.books.now()
            if run.status == LOAD_RUN_SCHEDULED:
                run.status, run.end_ts, run.ended_ts = LOAD_RUN_ENDED, now, now
            elif run.status == LOAD_RUN_ACTIVE:
                run.end_ts = min(run.end_ts, now)

    def kick(self) -> None:
        """Bring the runs' meters to the limit (or off) and back in the background (again if already at it)."""
        self._again = True
        if self._applying is None or self._applying.done():
            self._applying = self.books.spawn(self._apply_all(), "load limiting")

    async def _apply_all(self) -> None:
        while self._again:
            self._again = False
            now = self.books.now()
            self._next_retry = now + RETRY_S
            try:
                await self._apply_pending(now)
                await self._restore_pending(now)
            except OpenPrepayError as err:
                _LOGGER.warning("Load limiting: %s (retried)", err)

    async def _start_due(self, now: float) -> list[int]:
        """Activate the scheduled runs whose start has come: take their meters (held ones, and for a trip those
        already off, exempt)."""
        async with self.db.write() as session:
            runs = (await session.execute(
                select(LoadRunRow).where(LoadRunRow.status == LOAD_RUN_SCHEDULED, LoadRunRow.start_ts <= now)
            )).scalars().all()
            for run in runs:
                buildings = None if run.buildings is None else json.loads(run.buildings)
                for meter, category in await members(session, json.loads(run.categories), buildings):
                    state = self.meters.state(meter.entity_id)
                    attrs = state.attributes if state is not None else {}
                    outcome = LOAD_METER_PENDING
                    if held(self.meters, meter.entity_id):
                        outcome = LOAD_METER_EXEMPT_HOLD
                    elif run.action == LOAD_ACTION_TRIP and attrs.get("relay") == RELAY_OPEN:
                        outcome = LOAD_METER_EXEMPT_OFF
                    session.add(LoadRunMeterRow(
                        run_id=run.id, meter_entity_id=meter.entity_id, account_id=meter.account_id,
                        category=category, previous_w=attrs.get("overload_w"), outcome=outcome,
                    ))
                run.status, run.started_ts = LOAD_RUN_ACTIVE, now
            ids = [run.id for run in runs]
        await self._announce(ids, "start")
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
        await self._announce(ids, "end")
        return ids

    async def _apply_pending(self, now: float) -> None:
        """Bring the active runs' meters not reached yet to the limit (or off); mark those read back so."""
        async with self.db.session() as session:
            pending = (await session.execute(
                select(LoadRunMeterRow.id, LoadRunMeterRow.meter_entity_id, LoadRunRow.id, LoadRunRow.action)
                .join(LoadRunRow, LoadRunRow.id == LoadRunMeterRow.run_id)
                .where(LoadRunRow.status == LOAD_RUN_ACTIVE, LoadRunMeterRow.outcome == LOAD_METER_PENDING)
            )).all()
        if not pending:
            return
        limited = {entity_id for _, entity_id, _, action in pending if action == LOAD_ACTION_LIMIT}
        await self._note_previous([row_id for row_id, _, _, action in pending if action == LOAD_ACTION_LIMIT])
        if limited:
            await self.desired.push(limited)
        wanted = await active_limits(self.db, limited)
        limit = asyncio.Semaphore(PUSH_CONCURRENCY)

        async def one(entity_id: str, run_id: int, action: str) -> str | None:
            if action == LOAD_ACTION_LIMIT:
                return LOAD_METER_LIMITED if self._holds(entity_id, wanted.get(entity_id)) else None
            async with limit:
                return await self._trip(entity_id, run_id)

        results = await asyncio.gather(*(one(e, run_id, action) for _, e, run_id, action in pending))
        outcomes = {row[0]: outcome for row, outcome in zip(pending, results, strict=True) if outcome is not None}
        async with self.db.write() as session:
            for row_id, outcome in outcomes.items():
                await session.execute(
                    update(LoadRunMeterRow).where(LoadRunMeterRow.id == row_id)
                    .values(outcome=outcome, limited_ts=now if outcome in REACHED else None)
                )

    async def _note_previous(self, row_ids: list[int]) -> None:
        """Note the limit meters hold before they are limited where it was not known when the run began (a meter
        not read yet): a limit is pushed only to a meter whose previous one is known, so the end can give it back."""
        async with self.db.write() as session:
            rows = (await session.execute(
                select(LoadRunMeterRow).where(LoadRunMeterRow.id.in_(row_ids), LoadRunMeterRow.previous_w.is_(None))
            )).scalars().all()
            for row in rows:
                state = self.meters.state(row.meter_entity_id)
                if state is not None and state.attributes.get("overload_w") is not None:
                    row.previous_w = state.attributes["overload_w"]

    async def _trip(self, entity_id: str, run_id: int) -> str | None:
        """Switch a trip run's meter off as the system; return its outcome (None: not reached, retried)."""
        if is_offline(self.meters.state(entity_id)):
            return None
        try:
            await self.meters.call(entity_id, "trip", {}, actor_of(run_id))
        except ControlRefused:
            return LOAD_METER_EXEMPT_HOLD  # staff took the meter over since the run began
        except OpenPrepayError as err:
            _LOGGER.warning("Could not trip %s for load limiting (retried): %s", entity_id, err)
            return None
        state = self.meters.state(entity_id)
        return LOAD_METER_TRIPPED if state is not None and state.attributes.get("relay") == RELAY_OPEN else None

    async def _restore_pending(self, now: float) -> None:
        """Bring back the ended runs' meters that no active run of the same kind still takes."""
        async with self.db.session() as session:
            rows = (await session.execute(
                select(LoadRunMeterRow, LoadRunRow.action)
                .join(LoadRunRow, LoadRunRow.id == LoadRunMeterRow.run_id)
                .where(
                    LoadRunRow.status == LOAD_RUN_ENDED, LoadRunMeterRow.restored_ts.is_(None),
                    LoadRunMeterRow.outcome.not_in(EXEMPT),
                )
            )).all()
            taken = set((await session.execute(
                select(LoadRunMeterRow.meter_entity_id, LoadRunRow.action)
                .join(LoadRunRow, LoadRunRow.id == LoadRunMeterRow.run_id)
                .where(LoadRunRow.status == LOAD_RUN_ACTIVE, LoadRunMeterRow.outcome != LOAD_METER_EXEMPT_HOLD)
            )).all())
        # a meter another limit run still takes gets that run's limit (the lowest left) at once, its restore waits
        if still := {row.meter_entity_id for row, action in rows
                     if action == LOAD_ACTION_LIMIT and (row.meter_entity_id, action) in taken}:
            await self.desired.push(still)
        rows = [(row, action) for row, action in rows if (row.meter_entity_id, action) not in taken]
        if not rows:
            return
        desired = await self.desired.desired_of({row.meter_entity_id for row, _ in rows})
        limit = asyncio.Semaphore(PUSH_CONCURRENCY)

        async def one(row: LoadRunMeterRow, action: str) -> tuple[str, int | None] | None:
            async with limit:
                if action != LOAD_ACTION_LIMIT:
                    return await self._release(row)
                wanted = desired[row.meter_entity_id].settings.get("overload_w") if row.meter_entity_id in desired else None
                return await self._restore_limit(row.meter_entity_id, row.previous_w if wanted is None else wanted)

        results = await asyncio.gather(*(one(row, action) for row, action in rows))
        done = {row.id: result for (row, _), result in zip(rows, results, strict=True) if result is not None}
        async with self.db.write() as session:
            for row_id, (restore, restored_w) in done.items():
                await session.execute(
                    update(LoadRunMeterRow).where(LoadRunMeterRow.id == row_id)
                    .values(restore=restore, restored_w=restored_w, restored_ts=now)
                )

    async def _restore_limit(self, entity_id: str, wanted: int | None) -> tuple[str, int | None] | None:
        """Give a meter back ``wanted`` as its overload limit; return (restored, W) once it holds it."""
        if wanted is None:
            return LOAD_LEFT, None  # it held nothing we know of and has no limit configured: nothing to give back
        if is_offline(self.meters.state(entity_id)):
            return None
        if not self._holds(entity_id, wanted):
            try:
                await self.meters.call(entity_id, "push_settings", {"overload_w": wanted})
            except OpenPrepayError as err:
                _LOGGER.warning("Could not restore %s's overload limit (retried): %s", entity_id, err)
                return None
        return (LOAD_RESTORED, wanted) if self._holds(entity_id, wanted) else None

    async def _release(self, row: LoadRunMeterRow) -> tuple[str, int | None] | None:
        """Release a meter a trip run switched off, back to prepaid control, only if the run's trip is still the
        last control change (else who took it over keeps it); return (restored or left, None)."""
        if row.outcome != LOAD_METER_TRIPPED:
            return LOAD_LEFT, None  # never switched off by the run
        change = await self.relay_guard.last_change(row.meter_entity_id)
        if change is None or change.user_id != actor_of(row.run_id).user_id:
            return LOAD_LEFT, None
        if is_offline(self.meters.state(row.meter_entity_id)):
            return None
        try:
            await self.meters.call(row.meter_entity_id, "release", {}, actor_of(row.run_id))
        except ControlRefused:
            return LOAD_LEFT, None
        except OpenPrepayError as err:
            _LOGGER.warning("Could not release %s after load limiting (retried): %s", row.meter_entity_id, err)
            return None
        return LOAD_RESTORED, None

    def _holds(self, entity_id: str, limit_w: int | None) -> bool:
        """Tell whether the meter publishes ``limit_w`` as its overload limit (read from it over the bus)."""
        state = self.meters.state(entity_id)
        return limit_w is not None and state is not None and state.attributes.get("overload_w") == limit_w

    async def announce_scheduled(self, run_id: int, entity_ids: list[str]) -> None:
        """Tell the accounts of ``entity_ids`` a run is coming (they are taken only when it starts)."""
        async with self.db.session() as session:
            rows = await session.execute(
                select(MeterRow.entity_id, MeterRow.account_id).where(MeterRow.entity_id.in_(entity_ids))
            )
            meters = [{"meter_entity_id": e, "account_id": a, "outcome": LOAD_METER_PENDING} for e, a in rows]
        await self._fire(await load_run(self.db, run_id), "scheduled", meters)

    async def _announce(self, run_ids: list[int], phase: str) -> None:
        """Fire billing_load_limit once per account each run takes (exempt meters left out)."""
        for run_id in run_ids:
            _LOGGER.info("Load-limiting run %s: %s", run_id, phase)
            run = await load_run(self.db, run_id)
            await self._fire(run, phase, run["meters"])

    async def _fire(self, run: dict[str, Any], phase: str, meters: list[dict[str, Any]]) -> None:
        by_account: dict[int, list[str]] = {}
        for meter in meters:
            if meter["outcome"] not in EXEMPT and meter["account_id"] is not None:
                by_account.setdefault(meter["account_id"], []).append(meter["meter_entity_id"])
        async with self.db.session() as session:
            accounts = {
                row.id: row for row in (await session.execute(
                    select(AccountRow).where(AccountRow.id.in_(list(by_account)))
                )).scalars()
            }
        for account_id, entity_ids in sorted(by_account.items()):
            account = accounts.get(account_id)
            self.books.bus.async_fire(EVENT_BILLING_LOAD_LIMIT, {
                "phase": phase, "run_id": run["id"], "plan": run["plan_name"], "action": run["action"],
                "account_id": account_id, "name": account.name if account else None,
                "phone": account.phone if account else None, "meters": entity_ids, "limit_w": run["limit_w"],
                "start_ts": run["start_ts"], "end_ts": run["end_ts"],
            })
