"""Consumption: meter-side meters are synced from their remaining money; server-side meters are charged per
reading delta by the tariff (TOU by reading time, tiered by cumulative use) and tripped at arrears."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from scada_core.const import EVENT_METER_READING, EVENT_STATE_CHANGED, STATE_UNAVAILABLE
from scada_core.exceptions import OpenPrepayError

from . import ledger, tariffs
from .alarms import Thresholds, level_for, overload_for, update_levels
from .const import (
    ACCOUNT_REVENUE_ENERGY,
    ACCOUNT_REVENUE_FEE,
    FRIENDLY_CREDIT,
    KIND_CONSUMPTION,
    KIND_FEE,
    LEVEL_ARREARS,
    MODE_METER,
    MODE_SERVER,
    ROLE_SYSTEM,
)
from .control import ControlRefused
from .delivery import counts_ahead, pending_of
from .models import AccountRow, MeterRow

if TYPE_CHECKING:
    from scada_core.core import Event

    from .books import Books
    from .delivery import Deliveries
    from .opened import OpenedMeters
    from .port import MeterPort
    from .tariff_store import Tariffs

_LOGGER = logging.getLogger(__name__)

SYSTEM = ledger.Operator("billing", ROLE_SYSTEM)


@dataclass(frozen=True, slots=True)
class SyncMark:
    """The state a meter-side meter was last synced from, and the levels it implied."""

    purchase_count: int
    remaining_fen: int
    level: str
    overload: bool | None
    limits: Thresholds
    synced_at: float
    day: date


def implied(
    remaining_fen: int, power_w: Any, limits: Thresholds, flags: Mapping[str, Any] | None = None
) -> tuple[str, bool | None]:
    """Return the alarm level and overload (None: unknown) that a meter's money, power and own flags imply."""
    return level_for(remaining_fen, limits, flags), overload_for(power_w, limits, flags)


class MeterMirror:
    """Mirror meter-side meters' money in the ledger, charge server-side meters per reading, move alarm levels
    and trip at arrears."""

    def __init__(
        self,
        books: Books,
        meters: MeterPort,
        opened: OpenedMeters,
        deliveries: Deliveries,
        tariffs: Tariffs,
        consumption_interval: float,
    ) -> None:
        self.books = books
        self.db = books.db
        self.meters = meters
        self.opened = opened
        self.deliveries = deliveries
        self.tariffs = tariffs
        self.consumption_interval = consumption_interval
        self._sync_queued: set[str] = set()  # meters with a consumption sync waiting for their lock
        self._sync_marks: dict[str, SyncMark] = {}  # the state each meter-side meter was last synced from

    def async_listen(self) -> None:
        """Follow meter states (meter-side) and readings (server-side)."""
        self.books.bus.async_listen(EVENT_STATE_CHANGED, self._on_state_changed)
        self.books.bus.async_listen(EVENT_METER_READING, self._on_reading)

    def remember_meter(self, entity_id: str, mode: str | None) -> None:
        """Track an opened (mode) or closed (None) meter."""
        self._sync_marks.pop(entity_id, None)
        self.opened.remember(entity_id, mode)

    def sync_due(self, entity_id: str, attributes: Any = None) -> bool:
        """Tell whether a meter-side meter's state (``attributes``, else its last sync's) asks for a sync now.

        Now: never synced, another purchase count, another alarm level or overload. Otherwise the running
        consumption waits for ``consumption_interval`` or the local midnight.
        """
        mark = self._sync_marks.get(entity_id)
        if mark is None:
            return True
        if attributes is not None:
            count, remaining = attributes.get("purchase_count"), attributes.get("remaining_fen")
            if count is None or remaining is None:
                return False
            if count != mark.purchase_count:
                return True
            level, overload = implied(remaining, attributes.get("power_w"), mark.limits, attributes)
            if level != mark.level or (overload is not None and overload != mark.overload):
                return True
        now = self.books.now()
        return now - mark.synced_at >= self.consumption_interval or self._local_day(now) != mark.day

    def _local_day(self, ts: float) -> date:
        return datetime.fromtimestamp(ts, self.books.clock.time_zone).date()

    def _mark_synced(
        self,
        entity_id: str,
        count: int,
        remaining: int,
        power: Any,
        limits: Thresholds,
        flags: Mapping[str, Any] | None,
    ) -> None:
        level, overload = implied(remaining, power, limits, flags)
        now = self.books.now()
        self._sync_marks[entity_id] = SyncMark(count, remaining, level, overload, limits, now, self._local_day(now))

    def unchanged_since_sync(self, entity_id: str) -> bool:
        """Tell whether a meter-side meter still publishes the purchase count and money of its last sync (the
        ledger then holds what the meter holds: a sale need not read it again to check its credit cap)."""
        mark = self._sync_marks.get(entity_id)
        state = self.meters.state(entity_id)
        if mark is None or state is None or state.state == STATE_UNAVAILABLE:
            return False
        attributes = state.attributes
        return (attributes.get("purchase_count"), attributes.get("remaining_fen")) == (
            mark.purchase_count,
            mark.remaining_fen,
        )

    def delivered(self, entity_id: str, count: int, remaining: int) -> None:
        """Take a settled delivery's read-back as synced when it leaves the alarm level where it was (the ledger
        moved with the meter); a sale that moves the level leaves the mark, so the next state's sync records it."""
        mark = self._sync_marks.get(entity_id)
        if mark is None or implied(remaining, None, mark.limits)[0] != mark.level:
            return
        self._sync_marks[entity_id] = replace(mark, purchase_count=count, remaining_fen=remaining)

    def _on_state_changed(self, event: Event) -> None:
        entity_id = event.data["entity_id"]
        if self.opened.opened_mode(entity_id) != MODE_METER or entity_id in self._sync_queued:
            return
        new_state = event.data["new_state"]
        if new_state is None or new_state.state == STATE_UNAVAILABLE:
            return
        if not self.sync_due(entity_id, new_state.attributes):
            return
        self._sync_queued.add(entity_id)
        self.books.spawn(self._sync_later(entity_id), f"billing sync {entity_id}")

    async def _sync_later(self, entity_id: str) -> None:
        async with self.books.meter_lock(entity_id):
            self._sync_queued.discard(entity_id)
            state = self.meters.state(entity_id)
            if state is not None and not self.sync_due(entity_id, state.attributes):
                return  # synced while this waited for the lock (a sale's delivery took the state as synced)
            await self.sync_meter(entity_id)

    def _on_reading(self, event: Event) -> None:
        if self.opened.opened_mode(event.data.get("entity_id", "")) == MODE_SERVER:
            self.books.spawn(self.charge_reading(dict(event.data)), "billing charge")

    async def sync_meter(self, entity_id: str, fresh: bool = False) -> None:
        """Post a meter-side meter's consumption so the ledger holds its remaining money, and move its levels by
        money, limits and the meter's own flags (meter lock held)."""
        if fresh:
            read = await self.meters.call(entity_id, "read_prepaid")
            count, remaining, power = read.get("purchase_count"), read.get("remaining_fen"), None
        state = self.meters.state(entity_id)
        if state is None or state.state == STATE_UNAVAILABLE:
            if not fresh:
                return
            flags: Mapping[str, Any] | None = None
        else:
            flags = state.attributes
            if not fresh:
                count, remaining, power = (
                    flags.get("purchase_count"),
                    flags.get("remaining_fen"),
                    flags.get("power_w"),
                )
        if count is None or remaining is None:
            return
        count, remaining = int(count), int(remaining)
        needed, limits = await self._sync_needed(entity_id, count, remaining, power, flags)
        if not needed:
            if limits is not None:
                self._mark_synced(entity_id, count, remaining, power, limits, flags)
            return
        tamper = False
        async with self.db.write() as session:
            meter = await session.get(MeterRow, entity_id, with_for_update=True)
            if meter is None or meter.account_id is None or meter.mode != MODE_METER or meter.blocked:
                return
            ahead = counts_ahead(count, meter.purchase_count)
            if await pending_of(session, entity_id) is not None or ahead < 0:
                return  # a delivery is under way, or the state predates our last sale
            if ahead > 0:
                tamper = True
            else:
                account = await session.get(AccountRow, meter.account_id)
                limits = self.books.thresholds(account, meter.building, meter)
                meter_acct = ledger.meter_account(entity_id)
                used = await ledger.held(session, meter_acct) - remaining
                key = f"consume:{entity_id}:{count}:{remaining}"
                if used > 0 and await ledger.find_transaction(session, key) is None:
                    await ledger.post(
                        session,
                        kind=KIND_CONSUMPTION,
                        idempotency_key=key,
                        entries=[(meter_acct, used), (ACCOUNT_REVENUE_ENERGY, -used)],
                        operator=SYSTEM,
                        ts=self.books.now(),
                        amount_fen=used,
                        account_id=meter.account_id,
                        meter_entity_id=entity_id,
                        building=meter.building,
                    )
                events = (
                    []
                    if meter.account_id in self.books.closing
                    else update_levels(session, meter, remaining, limits, self.books.now(), power, flags)
                )
        if tamper:
            await self.deliveries.block(entity_id, count, meter.purchase_count)
            return
        self._mark_synced(entity_id, count, remaining, power, limits, flags)
        self.books.fire_alarms(events)

    async def _sync_needed(
        self,
        entity_id: str,
        count: int,
        remaining: int,
        power: int | None,
        flags: Mapping[str, Any] | None,
    ) -> tuple[bool, Thresholds | None]:
        """Tell (reading only) whether a sync would post, move a level or find tamper; with the meter's limits."""
        async with self.db.session() as session:
            meter = await session.get(MeterRow, entity_id)
            if meter is None or meter.account_id is None or meter.mode != MODE_METER:
                return False, None
            account = await session.get(AccountRow, meter.account_id)
            limits = self.books.thresholds(account, meter.building, meter)
            if meter.blocked:
                return False, None  # nothing moves while blocked: its state is not synced (no mark)
            if (ahead := counts_ahead(count, meter.purchase_count)) != 0:
                return ahead > 0 and await pending_of(session, entity_id) is None, limits
            if await ledger.held(session, ledger.meter_account(entity_id)) > remaining:
                return True, limits
            level, overload = implied(remaining, power, limits, flags)
            overload_moved = overload is not None and overload != bool(meter.overload)
            closing = meter.account_id in self.books.closing
            return overload_moved or (not closing and level != meter.alarm_level), limits

    async def charge_reading(self, data: dict[str, Any]) -> None:
        """Charge a server-side meter's energy since its previous reading to its account."""
        entity_id = data["entity_id"]
        total, ts = data.get("total_wh"), float(data["ts"])
        if total is None:
            return
        async with self.books.meter_lock(entity_id), self.db.write() as session:
            meter = await session.get(MeterRow, entity_id, with_for_update=True)
            if meter is None or meter.account_id is None or meter.mode != MODE_SERVER:
                return
            if meter.last_total_wh is None or total < meter.last_total_wh:
                meter.last_total_wh, meter.last_reading_ts = (
                    int(total),
                    ts,
                )  # first reading or a reset meter
                return
            if meter.last_reading_ts is not None and ts <= meter.last_reading_ts:
                return
            await self._charge(session, meter, int(total) - meter.last_total_wh, ts)
            meter.last_total_wh, meter.last_reading_ts = int(total), ts
            # The levels move in the same transaction as the money: no screen sees one without the other.
            events, actions = await self._account_levels(session, meter.account_id)
        await self._after_levels(events, actions)

    async def _charge(self, session: Any, meter: MeterRow, wh: int, ts: float) -> None:
        local = datetime.fromtimestamp(ts, self.books.clock.time_zone)
        spec = await self.tariffs.tariff_spec(session, meter.entity_id, meter.building, ts)
        wallet = ledger.tenant_account(meter.account_id)
        month = local.strftime("%Y-%m")
        if meter.fee_month != month:
            fee = spec.get("monthly_fee_fen", 0)
            if fee:
                await ledger.post(
                    session,
                    kind=KIND_FEE,
                    idempotency_key=f"fee:{meter.entity_id}:{month}",
                    entries=[(wallet, fee), (ACCOUNT_REVENUE_FEE, -fee)],
                    operator=SYSTEM,
                    ts=ts,
                    amount_fen=fee,
                    reason=f"monthly fee {month}",
                    account_id=meter.account_id,
                    meter_entity_id=meter.entity_id,
                    building=meter.building,
                )
            meter.fee_month = month
        if spec["kind"] == tariffs.KIND_TIERED:
            period = tariffs.period_key(spec, local)
            if meter.tier_period != period:
                meter.tier_period, meter.tier_wh = period, 0
        result = tariffs.charge(spec, wh, local, meter.tier_wh)
        meter.tier_wh += wh
        if result.fen:
            await ledger.post(
                session,
                kind=KIND_CONSUMPTION,
                idempotency_key=f"charge:{meter.entity_id}:{ts}:{meter.last_total_wh + wh}",
                entries=[(wallet, result.fen), (ACCOUNT_REVENUE_ENERGY, -result.fen)],
                operator=SYSTEM,
                ts=ts,
                amount_fen=result.fen,
                reason=json.dumps({"wh": wh, "parts": result.parts}),
                account_id=meter.account_id,
                meter_entity_id=meter.entity_id,
                building=meter.building,
            )

    async def refresh_account(self, account_id: int) -> None:
        """Re-evaluate the alarm levels of an account's server-side meters; trip at arrears, close after."""
        async with self.db.write() as session:
            events, actions = await self._account_levels(session, account_id)
        await self._after_levels(events, actions)

    async def _account_levels(
        self, session: Any, account_id: int
    ) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
        """Move the levels of an account's server-side meters by its wallet; return alarms and relay actions."""
        account = await session.get(AccountRow, account_id)
        meters = (
            (
                await session.execute(
                    select(MeterRow).where(MeterRow.account_id == account_id, MeterRow.mode == MODE_SERVER)
                )
            )
            .scalars()
            .all()
        )
        if account is None or not meters:
            return [], []
        held = await ledger.held(session, ledger.tenant_account(account_id))
        events: list[dict[str, Any]] = []
        actions: list[tuple[str, str]] = []
        for meter in meters:
            state = self.meters.state(meter.entity_id)
            power = state.attributes.get("power_w") if state is not None else None
            events += update_levels(
                session,
                meter,
                held,
                self.books.thresholds(account, meter.building, meter),
                self.books.now(),
                power,
            )
            arrears = meter.alarm_level == LEVEL_ARREARS
            if arrears != bool(meter.tripped):
                actions.append((meter.entity_id, "trip" if arrears else "close"))
        return events, actions

    async def _after_levels(
        self, events: list[dict[str, Any]], actions: list[tuple[str, str]]
    ) -> None:
        """Once committed: fire the alarms, then trip or close the relays."""
        self.books.fire_alarms(events)
        for entity_id, service in actions:
            await self._switch(entity_id, service)

    async def _switch(self, entity_id: str, service: str) -> None:
        """Trip or close a server-side meter's relay and remember it."""
        domain = entity_id.split(".", 1)[0]
        services = self.meters.services
        by_policy = service == "trip" and services.has_service(FRIENDLY_CREDIT, "trip_for_arrears")
        if not by_policy and not self.meters.services.has_service(domain, service):
            _LOGGER.warning("Cannot %s %s: %s.%s does not exist", service, entity_id, domain, service)
            return
        try:
            if by_policy:
                # Friendly credit decides when an arrears trip may happen (night, weekend, holiday).
                # A deferred trip counts as tripped here, so the meter is closed again once paid.
                result = await self.meters.services.async_call(
                    FRIENDLY_CREDIT, "trip_for_arrears", {"entity_id": entity_id}
                )
                _LOGGER.info("Arrears trip of %s: %s", entity_id, (result or {}).get("action"))
            else:
                await self.meters.call(entity_id, service)
        except ControlRefused:
            return  # staff hold the meter: the guard said so; tried again at the next refresh
        except OpenPrepayError as err:
            _LOGGER.error("Could not %s %s: %s", service, entity_id, err)
            return
        async with self.db.write() as session:
            meter = await session.get(MeterRow, entity_id)
            if meter is not None:
                meter.tripped = service == "trip"
        _LOGGER.info(
            "%s %s for %s",
            "Tripped" if service == "trip" else "Closed",
            entity_id,
            "arrears" if service == "trip" else "paid",
        )

    async def meter_balance(self, entity_id: str, meter: MeterRow | None) -> int | None:
        """Return the money a meter has: its own last read on meter-side meters (the ledger's mirror when it
        cannot be read), the account's wallet otherwise."""
        if meter is None or meter.account_id is None:
            return None
        state = self.meters.state(entity_id)
        if meter.mode == MODE_METER and state is not None and state.state != STATE_UNAVAILABLE:
            remaining = state.attributes.get("remaining_fen")
            if remaining is not None:
                return int(remaining)
        account = (
            ledger.meter_account(entity_id)
            if meter.mode == MODE_METER
            else ledger.tenant_account(meter.account_id)
        )
        async with self.db.session() as session:
            return await ledger.held(session, account)
