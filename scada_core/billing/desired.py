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
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from scada_core.const import STATE_UNAVAILABLE
from scada_core.exceptions import OpenPrepayError

from .alarms import Thresholds
from .const import MODE_METER
from .models import AccountRow, MeterRow
from .tariffs import TieredOnMeterError, push_payload

if TYPE_CHECKING:
    from .policies import BuildingPolicies
    from .books import Books
    from .port import MeterPort
    from .tariff_store import Tariffs

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


class DesiredState:
    """Reconcile what each meter-side meter holds with what it should hold."""

    def __init__(self, books: Books, meters: MeterPort, tariffs: Tariffs, policies: BuildingPolicies) -> None:
        self.books = books
        self.db = books.db
        self.meters = meters
        self.tariffs = tariffs
        self.policies = policies
        # {meter: overload limit W} a load-limiting run holds now (load_limits.py), over the meter's own
        self.overrides: Callable[[Iterable[str] | None], Awaitable[dict[str, int]]] | None = None

    async def desired_of(self, entity_ids: Iterable[str] | None = None) -> dict[str, Desired]:
        """Return what opened meter-side meters (all, or ``entity_ids``) should hold now."""
        entity_ids = None if entity_ids is None else list(entity_ids)
        now = self.books.now()
        month = datetime.fromtimestamp(now, self.books.clock.time_zone).month
        stmt = select(MeterRow).where(MeterRow.account_id.is_not(None), MeterRow.mode == MODE_METER)
        if entity_ids is not None:
            stmt = stmt.where(MeterRow.entity_id.in_(entity_ids))
        async with self.db.session() as session:
            meters = (await session.execute(stmt)).scalars().all()
            ids = {m.account_id for m in meters}
            rows = await session.execute(select(AccountRow).where(AccountRow.id.in_(ids)))
            accounts = {a.id: a for a in rows.scalars()}
            specs = await self.tariffs.specs_in_force(session, now)
        limited = {} if self.overrides is None else await self.overrides(entity_ids)
        desired: dict[str, Desired] = {}
        for meter in meters:
            spec = self.tariffs.spec_of(specs, meter.entity_id, meter.building)
            try:
                tariff = None if spec is None else push_payload(spec, month)
            except TieredOnMeterError:
                _LOGGER.warning("%s: a tiered tariff cannot be held by a meter-side meter", meter.entity_id)
                tariff = None
            limits = self.books.thresholds(accounts.get(meter.account_id), meter.building, meter)
            settings = desired_settings(limits)
            if meter.entity_id in limited:
                settings["overload_w"] = limited[meter.entity_id]
            desired[meter.entity_id] = Desired(tariff, settings)
        return desired

    async def push(
        self, entity_ids: Iterable[str] | None = None, blind: bool = True
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

    async def _push_one(self, entity_id: str, wanted: Desired, blind: bool) -> str:
        """Push what the meter does not hold, compared with what it publishes (``blind``: also when it has
        published nothing yet)."""
        state = self.meters.state(entity_id)
        if state is None or state.state == STATE_UNAVAILABLE or state.attributes.get("online") is False:
            return OUTCOME_OFFLINE
        held = state.attributes
        if not blind and held.get("prices") is None and held.get("alarm1_fen") is None:
            return OUTCOME_UNREAD
        outcome = OUTCOME_HELD
        try:
            if wanted.tariff is not None and tariff_differs(wanted.tariff, held):
                await self.meters.call(entity_id, "push_tariff", wanted.tariff)
                outcome = OUTCOME_PUSHED
            if changed := settings_differ(wanted.settings, held):
                await self.meters.call(entity_id, "push_settings", changed)
                outcome = OUTCOME_PUSHED
        except OpenPrepayError as err:
            _LOGGER.warning("Could not bring %s to its tariff and settings (next round): %s", entity_id, err)
            return OUTCOME_FAILED
        return outcome

    async def push_from(self, effective_ts: float) -> None:
        """Bring meters to a new tariff or settings version: now when it is in force, else right when it takes
        effect."""
        if effective_ts <= self.books.now():
            await self.push()
        else:
            self.push_at(effective_ts)

    def push_at(self, effective_ts: float) -> None:
        """Bring meters to the tariff and building settings in force right when a future version takes effect."""

        async def push_then() -> None:
            await asyncio.sleep(max(effective_ts - self.books.now(), 0))
            await self.policies.apply()
            await self.push()

        self.books.spawn(push_then(), "billing tariff push")
