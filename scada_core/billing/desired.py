"""What a meter-side meter should hold, as a desired state: the tariff in force now (the TOU table of the local
month's season), its alarm levels, overdraft and overload limit.

Billing compares it with what the meter reports (its published ``prices``, ``tou``, ``alarm1_fen``,
``alarm2_fen``, ``overdraft_fen`` and ``overload_w``) and pushes only what differs: in every reconciler round,
at once after each change (open, replace, move, tariff, thresholds), when a future tariff takes effect and at
local midnight when a month begins. A meter that is offline or refuses is tried again next round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from sqlalchemy import select

from scada_core.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from scada_core.core import humanize_invalid
from scada_core.exceptions import OpenPrepayError

from .alarms import Thresholds
from .const import MODE_METER
from .models import AccountRow, MeterRow
from .tariffs import TieredOnMeterError, push_payload

if TYPE_CHECKING:
    from .service import BillingService

_LOGGER = logging.getLogger(__name__)

SETTING_KEYS = ("alarm1_fen", "alarm2_fen", "overdraft_fen", "overload_w")
# Meters brought to their desired state at the same time (each bus still serialises its own meters).
PUSH_CONCURRENCY = 64

OUTCOME_HELD = "held"  # it already held everything
OUTCOME_PUSHED = "pushed"
OUTCOME_FAILED = "failed"  # refused or did not answer: next round
OUTCOME_OFFLINE = "offline"  # not tried: next round
OUTCOME_UNREAD = "unread"  # its settings not read yet since start-up: a later round compares them


@dataclass(frozen=True, slots=True)
class Desired:
    """The push_tariff data (None: no tariff the meter can hold) and push_settings data of one meter."""

    tariff: dict[str, Any] | None
    settings: dict[str, int]


def desired_settings(limits: Thresholds) -> dict[str, int]:
    """Return the push_settings data of ``limits`` (no overload limit when none is set)."""
    settings = {
        "alarm1_fen": limits.alarm1_fen,
        "alarm2_fen": limits.alarm2_fen,
        "overdraft_fen": limits.overdraft_fen,
    }
    if limits.overload_w is not None:
        settings["overload_w"] = int(limits.overload_w)
    return settings


def _price(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _periods(periods: Any) -> list[tuple[str, str]] | None:
    if periods is None:
        return None
    return sorted((str(p["start"])[:5], str(p["rate"])) for p in periods)


def tariff_differs(tariff: Mapping[str, Any], held: Mapping[str, Any]) -> bool:
    """Tell whether the meter's published ``prices`` / ``tou`` differ from the push_tariff data ``tariff``."""
    prices = held.get("prices") or {}
    if any(_price(prices.get(rate)) != _price(price) for rate, price in tariff["prices"].items()):
        return True
    return "tou" in tariff and _periods(held.get("tou")) != _periods(tariff["tou"])


def settings_differ(settings: Mapping[str, int], held: Mapping[str, Any]) -> dict[str, int]:
    """Return the settings the meter does not hold."""
    return {key: value for key, value in settings.items() if held.get(key) != value}


def next_month_start(local: datetime) -> datetime:
    """Return local midnight of the first day of the month after ``local``."""
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


class DesiredMixin:
    """Reconcile what each meter-side meter holds with what it should hold."""

    def next_round_delay(self: BillingService) -> float:
        """Return the seconds to the next reconciler round: the interval, or less to be on time for a new month
        (when a TOU season may change the meter's table)."""
        now = self.core.clock.now()
        until_month = (next_month_start(now) - now).total_seconds()
        return max(min(self.reconcile_interval, until_month), 0.0)

    def refusal_of(self: BillingService, entity_id: str, service: str, data: Mapping[str, Any]) -> str | None:
        """Return why the meter's ``service`` would refuse ``data`` (its schema, checked before billing stores a
        setting it could never push), or None."""
        registered = self.core.services.async_services().get(entity_id.split(".", 1)[0], {}).get(service)
        if registered is None or registered.schema is None:
            return None
        try:
            registered.schema({ATTR_ENTITY_ID: entity_id, **data})
        except vol.Invalid as err:
            return f"{entity_id}: {humanize_invalid(err)}"
        return None

    async def desired_of(self: BillingService, entity_ids: Iterable[str] | None = None) -> dict[str, Desired]:
        """Return what opened meter-side meters (all, or ``entity_ids``) should hold now."""
        now = self.now()
        month = datetime.fromtimestamp(now, self.core.clock.time_zone).month
        stmt = select(MeterRow).where(MeterRow.account_id.is_not(None), MeterRow.mode == MODE_METER)
        if entity_ids is not None:
            stmt = stmt.where(MeterRow.entity_id.in_(list(entity_ids)))
        async with self.db.session() as session:
            meters = (await session.execute(stmt)).scalars().all()
            ids = {m.account_id for m in meters}
            rows = await session.execute(select(AccountRow).where(AccountRow.id.in_(ids)))
            accounts = {a.id: a for a in rows.scalars()}
            specs = await self.specs_in_force(session, now)
        desired: dict[str, Desired] = {}
        for meter in meters:
            spec = self.spec_of(specs, meter.entity_id, meter.building)
            try:
                tariff = None if spec is None else push_payload(spec, month)
            except TieredOnMeterError:
                _LOGGER.warning("%s: a tiered tariff cannot be held by a meter-side meter", meter.entity_id)
                tariff = None
            limits = self.thresholds(accounts.get(meter.account_id), meter.building, meter)
            desired[meter.entity_id] = Desired(tariff, desired_settings(limits))
        return desired

    async def push_desired(
        self: BillingService, entity_ids: Iterable[str] | None = None, blind: bool = True
    ) -> dict[str, str]:
        """Bring opened meter-side meters (all, or ``entity_ids``) to what they should hold; return outcomes.

        After a change (opening, a tariff, thresholds) a meter gets it even when it has published nothing yet
        (``blind``); the reconciler's rounds leave such a meter (not read since start-up) for a later round, so
        a restart never pushes to every meter.
        """
        desired = await self.desired_of(entity_ids)
        limit = asyncio.Semaphore(PUSH_CONCURRENCY)

        async def one(entity_id: str, wanted: Desired) -> tuple[str, str]:
            async with limit:
                return entity_id, await self._push_one(entity_id, wanted, blind)

        outcomes = dict(await asyncio.gather(*(one(e, d) for e, d in desired.items())))
        pushed = sum(1 for o in outcomes.values() if o == OUTCOME_PUSHED)
        if pushed:
            _LOGGER.info("Pushed tariff or settings to %d meters", pushed)
        return outcomes

    async def _push_one(self: BillingService, entity_id: str, wanted: Desired, blind: bool) -> str:
        """Push what the meter does not hold, compared with what it publishes (``blind``: also when it has
        published nothing yet)."""
        state = self.core.states.get(entity_id)
        if state is None or state.state == STATE_UNAVAILABLE or state.attributes.get("online") is False:
            return OUTCOME_OFFLINE
        held = state.attributes
        if not blind and held.get("prices") is None and held.get("alarm1_fen") is None:
            return OUTCOME_UNREAD
        outcome = OUTCOME_HELD
        try:
            if wanted.tariff is not None and tariff_differs(wanted.tariff, held):
                await self.call_meter(entity_id, "push_tariff", wanted.tariff)
                outcome = OUTCOME_PUSHED
            if changed := settings_differ(wanted.settings, held):
                await self.call_meter(entity_id, "push_settings", changed)
                outcome = OUTCOME_PUSHED
        except OpenPrepayError as err:
            _LOGGER.warning("Could not bring %s to its tariff and settings (next round): %s", entity_id, err)
            return OUTCOME_FAILED
        return outcome

    async def reconcile_round(self: BillingService) -> dict[str, int]:
        """One reconciler round: settle pending deliveries, push what meters should hold, mirror due meters.

        Returns the delivery outcomes plus how many meters were pushed (``desired_pushed``) or could not be
        (``desired_failed``, ``desired_offline``).
        """
        outcomes = await self.reconcile()
        for outcome in (await self.push_desired(blind=False)).values():
            if outcome != OUTCOME_HELD:
                outcomes[f"desired_{outcome}"] = outcomes.get(f"desired_{outcome}", 0) + 1
        for entity_id, mode in list(self._open_meters.items()):
            if mode == MODE_METER and self.sync_due(entity_id):
                async with self.meter_lock(entity_id):
                    await self.sync_meter(entity_id)
        return outcomes
