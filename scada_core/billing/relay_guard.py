"""The one enforcement point of control precedence: a guard on every meter relay service, and its record."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from scada_core.const import ACTOR_SYSTEM, ACTOR_TENANT, ATTR_ENTITY_ID, MATCH_ALL
from scada_core.core import CALLBACK_TYPE, ServiceCall, ServiceRunner
from scada_core.meters import is_meter

from .control import (
    HOLDER_LABELS,
    HOLDER_NONE,
    RELAY_SERVICES,
    RELEASED_MODE,
    ControlRefused,
    decide,
    effective_holder,
)
from .models import ControlChangeRow, MeterRow

if TYPE_CHECKING:
    from scada_core.core import CoreConfig

    from .books import Books
    from .charging import MeterMirror
    from .port import MeterPort

_LOGGER = logging.getLogger(__name__)


class RelayGuard:
    """Check each relay command against who holds the meter; record the holder it leaves."""

    def __init__(self, books: Books, meters: MeterPort, mirror: MeterMirror, config: CoreConfig) -> None:
        self.books = books
        self.meters = meters
        self.mirror = mirror
        self.config = config  # its language is read at each call
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def async_install(self) -> CALLBACK_TYPE:
        """Guard the relay services of every domain (calls on meters obey the rule); return the remover."""
        services = self.meters.services
        removers = [services.async_set_guard(MATCH_ALL, service, self.guard) for service in RELAY_SERVICES]

        def remove() -> None:
            for remover in removers:
                remover()

        return remove

    async def last_change(self, entity_id: str) -> ControlChangeRow | None:
        """Return the newest holder change of a meter."""
        async with self.books.db.session() as session:
            return await session.scalar(
                select(ControlChangeRow)
                .where(ControlChangeRow.meter_entity_id == entity_id)
                .order_by(ControlChangeRow.id.desc())
                .limit(1)
            )

    async def holder(self, entity_id: str) -> dict[str, Any]:
        """Return who holds the meter's relay now, with the change that made it so (for screens)."""
        change = await self.last_change(entity_id)
        holder = effective_holder(change.holder if change else None, self._prepaid_mode(entity_id))
        language = self.config.language
        zh, en = HOLDER_LABELS[holder]
        recorded = change is not None and change.holder == holder
        return {
            "holder": holder,
            "label": en if language == "en" else zh,
            "by": (change.user_id or change.actor) if recorded else None,
            "service": change.service if recorded else None,
            "ts": change.ts if recorded else None,
        }

    def _prepaid_mode(self, entity_id: str) -> str | None:
        state = self.meters.state(entity_id)
        return state.attributes.get("prepaid_mode") if state is not None else None

    async def guard(self, call: ServiceCall, run: ServiceRunner) -> dict[str, Any] | None:
        """Run the call meter by meter, each only if precedence allows it; record each new holder (a call on no
        meter runs as it is)."""
        states = self.meters.states
        entity_ids = call.data.get(ATTR_ENTITY_ID)
        if not entity_ids or not any(is_meter(states.get(e)) for e in entity_ids):
            return await run(call)
        results: dict[str, Any] = {}
        for entity_id in entity_ids:
            async with self._locks[entity_id]:
                one = dataclasses.replace(call, data={**call.data, ATTR_ENTITY_ID: [entity_id]})
                response = await self._run_one(one, entity_id, run)
            results.update((response or {}).get("results", {}))
        return {"results": results}

    async def _run_one(self, call: ServiceCall, entity_id: str, run: ServiceRunner) -> dict[str, Any] | None:
        change = await self.last_change(entity_id)
        recorded = change.holder if change is not None else None
        holder = effective_holder(recorded, self._prepaid_mode(entity_id))
        actor = call.context.actor or ACTOR_SYSTEM
        balance = await self._balance(entity_id) if actor == ACTOR_TENANT else None
        try:
            new_holder = decide(holder, actor, RELAY_SERVICES[call.service], balance)
        except ControlRefused as err:
            _LOGGER.warning("%s.%s of %s by %s refused: %s", call.domain, call.service, entity_id, actor, err.en)
            raise
        try:
            response = await run(call)
        except Exception:
            # A close can release forced control and still fail (no money to close on): the release stands.
            if new_holder == HOLDER_NONE and self._prepaid_mode(entity_id) == RELEASED_MODE:
                await self._record(call, entity_id, recorded, new_holder)
            raise
        await self._record(call, entity_id, recorded, new_holder)
        return response

    async def _record(self, call: ServiceCall, entity_id: str, recorded: str | None, holder: str) -> None:
        """Record a new holder (nothing when it stays the same)."""
        if holder == recorded:
            return
        actor = call.context.actor or ACTOR_SYSTEM
        async with self.books.db.write() as session:
            session.add(
                ControlChangeRow(
                    ts=self.books.now(), meter_entity_id=entity_id, holder=holder,
                    actor=actor, user_id=call.context.user_id, service=call.service,
                )
            )
        _LOGGER.info("%s is now held by %s (%s by %s)", entity_id, holder, call.service, actor)

    async def _balance(self, entity_id: str) -> int | None:
        async with self.books.db.session() as session:
            meter = await session.get(MeterRow, entity_id)
        return await self.mirror.meter_balance(entity_id, meter)
