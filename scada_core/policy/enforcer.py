"""Carry out friendly credit: defer trips of server-side meters, hold and restore meter-side (prepaid) meters."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from ..automation.const import EVENT_TIME_CHANGED
from ..automation.triggers import combine
from ..const import STATE_UNAVAILABLE, STATE_UNKNOWN
from ..meters import MODE_METER, billing_mode, meter_states
from .friendly_credit import FriendlyCreditPolicy
from .models import KIND_HOLD, KIND_TRIP, FriendlyCreditActionRow

if TYPE_CHECKING:
    from ..core import Core, Event

_LOGGER = logging.getLogger(__name__)

EVENT_BILLING_SALE = "billing_sale"
EVENT_BILLING_ALARM = "billing_alarm"
# Hold/restore commands sent at once when a window opens or closes over many meters.
MAX_PARALLEL_COMMANDS = 16


def is_meter_side(core: Core, entity_id: str) -> bool:
    """Tell whether the meter bills itself (a prepaid meter trips by itself at zero)."""
    return billing_mode(core.states.get(entity_id)) == MODE_METER


class FriendlyCreditEnforcer:
    """Obey the policy for every arrears cut-off, whichever part asks for it."""

    def __init__(self, core: Core, policy: FriendlyCreditPolicy) -> None:
        self.core = core
        self.policy = policy
        self.retry_after: float = policy.config["retry_after"]
        self.deferred: dict[str, float] = {}
        self.held: dict[str, float] = {}
        self._retry_at: dict[tuple[str, str], float] = {}
        self._in_flight: set[tuple[str, str]] = set()
        self._limit = asyncio.Semaphore(MAX_PARALLEL_COMMANDS)

    async def async_start(self) -> None:
        """Load the owed actions, then reconcile on every clock tick and follow billing events."""
        if self.core.db is not None:
            async with self.core.db.session() as session:
                for row in (await session.scalars(select(FriendlyCreditActionRow))).all():
                    (self.deferred if row.kind == KIND_TRIP else self.held)[row.entity_id] = row.since_ts
        remove = combine(
            [
                self.core.bus.async_listen(EVENT_TIME_CHANGED, self._on_tick),
                self.core.bus.async_listen(EVENT_BILLING_SALE, self._on_paid),
                self.core.bus.async_listen(EVENT_BILLING_ALARM, self._on_paid),
            ]
        )
        self.core.async_on_stop(remove)

    def status(self, entity_id: str) -> dict[str, Any]:
        """Return what the policy says about ``entity_id`` now."""
        now = self.core.clock.now()
        allowed, reason = self.policy.may_cut(entity_id, now)
        return {
            "entity_id": entity_id,
            "may_cut": allowed,
            "reason": reason,
            "next_allowed": self.policy.next_allowed(entity_id, now).isoformat(),
            "protected": self.policy.protects(entity_id),
            "meter_side": is_meter_side(self.core, entity_id),
            "trip_deferred": entity_id in self.deferred,
            "held": entity_id in self.held,
        }

    async def async_trip_for_arrears(self, entity_id: str) -> dict[str, Any]:
        """Cut a tenant in arrears as soon as the policy allows.

        Server-side meters are tripped now or when the window ends (deferred). A meter-side DTSY1352 trips
        by itself in prepaid mode, so it is never forced off (that would outlive the next purchase): inside a
        window it is held (保电), outside one it is returned to prepaid mode if we held it.
        """
        now = self.core.clock.now()
        stamp = now.timestamp()
        allowed, reason = self.policy.may_cut(entity_id, now)
        answer: dict[str, Any] = {"entity_id": entity_id, "reason": reason}
        if not allowed:
            answer["until"] = self.policy.next_allowed(entity_id, now).isoformat()
        if is_meter_side(self.core, entity_id):
            service = "restore_prepaid" if allowed else "hold"
            answer["action"] = "prepaid" if allowed else "held"
            if (entity_id in self.held) == allowed:
                await self._carry_out(entity_id, service, stamp)
                if (entity_id in self.held) != (service == "hold"):
                    answer["error"] = f"{service} failed, retried in the background"
            return answer
        if allowed:
            answer["result"] = await self._command(entity_id, "trip")
            await self._forget(entity_id, KIND_TRIP)
            answer["action"] = "tripped"
            return answer
        answer["action"] = "deferred"
        if entity_id not in self.deferred:
            self.deferred[entity_id] = stamp
            await self._remember(entity_id, KIND_TRIP, stamp)
        _LOGGER.info("Trip of %s deferred until %s (%s)", entity_id, answer["until"], reason)
        return answer

    async def async_cancel(self, entity_id: str) -> bool:
        """Drop a deferred trip (the tenant paid); return whether one was waiting."""
        waiting = entity_id in self.deferred
        await self._forget(entity_id, KIND_TRIP)
        return waiting

    def _on_paid(self, event: Event) -> None:
        data = event.data
        left_arrears = (data.get("level"), data.get("phase")) == ("arrears", "leave")
        if event.event_type == EVENT_BILLING_ALARM and not left_arrears:
            return
        entity_id = data.get("meter_entity_id")
        if entity_id in self.deferred:
            _LOGGER.info("%s is out of arrears: its deferred trip is dropped", entity_id)
            self.core.async_create_task(self.async_cancel(entity_id), f"friendly credit cancel {entity_id}")

    def _on_tick(self, _event: Event) -> None:
        self.async_reconcile()

    def async_reconcile(self) -> None:
        """Trip deferred meters whose window ended; hold or restore meter-side meters as windows open/close.

        Each owed command runs as its own task, so a meter that does not answer never delays the others.
        """
        now = self.core.clock.now()
        stamp = now.timestamp()
        jobs: list[tuple[str, str]] = [
            (entity_id, "trip") for entity_id in self.deferred if self.policy.may_cut(entity_id, now)[0]
        ]
        for state in meter_states(self.core.states):
            entity_id = state.entity_id
            if state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN) or billing_mode(state) != MODE_METER:
                continue
            want_hold = self.policy.protects(entity_id) and not self.policy.may_cut(entity_id, now)[0]
            if want_hold and entity_id not in self.held:
                jobs.append((entity_id, "hold"))
            elif not want_hold and entity_id in self.held:
                jobs.append((entity_id, "restore_prepaid"))
        for job in jobs:
            if job in self._in_flight or self._retry_at.get(job, 0) > stamp:
                continue
            self._in_flight.add(job)
            self.core.async_create_task(self._run_job(*job, stamp), f"friendly credit {job[1]} {job[0]}")

    async def _run_job(self, entity_id: str, service: str, stamp: float) -> None:
        try:
            async with self._limit:
                await self._carry_out(entity_id, service, stamp)
        finally:
            self._in_flight.discard((entity_id, service))

    async def _carry_out(self, entity_id: str, service: str, stamp: float) -> None:
        """Run one owed command; on failure retry after ``retry_after`` seconds."""
        try:
            if service == "hold":
                await self._hold(entity_id, stamp)
                return
            await self._command(entity_id, service)
        except Exception as err:  # noqa: BLE001 - an offline meter must not stop the others
            _LOGGER.warning(
                "Friendly credit: %s %s failed, retry in %.0fs: %s", service, entity_id, self.retry_after, err
            )
            self._retry_at[(entity_id, service)] = stamp + self.retry_after
            return
        self._retry_at.pop((entity_id, service), None)
        if service == "trip":
            _LOGGER.info("Deferred trip of %s done", entity_id)
            await self._forget(entity_id, KIND_TRIP)
        else:
            await self._forget(entity_id, KIND_HOLD)

    async def _hold(self, entity_id: str, stamp: float) -> None:
        await self._command(entity_id, "hold")
        self.held[entity_id] = stamp
        await self._remember(entity_id, KIND_HOLD, stamp)

    async def _command(self, entity_id: str, service: str) -> Any:
        domain = entity_id.split(".", 1)[0]
        response = await self.core.services.async_call(domain, service, {"entity_id": entity_id})
        return (response or {}).get("results", {}).get(entity_id, response)

    async def _remember(self, entity_id: str, kind: str, stamp: float) -> None:
        if self.core.db is None:
            return
        async with self.core.db.write() as session:
            await session.execute(
                delete(FriendlyCreditActionRow).where(
                    FriendlyCreditActionRow.entity_id == entity_id, FriendlyCreditActionRow.kind == kind
                )
            )
            session.add(FriendlyCreditActionRow(entity_id=entity_id, kind=kind, since_ts=stamp))

    async def _forget(self, entity_id: str, kind: str) -> None:
        (self.deferred if kind == KIND_TRIP else self.held).pop(entity_id, None)
        if self.core.db is None:
            return
        async with self.core.db.write() as session:
            await session.execute(
                delete(FriendlyCreditActionRow).where(
                    FriendlyCreditActionRow.entity_id == entity_id, FriendlyCreditActionRow.kind == kind
                )
            )
