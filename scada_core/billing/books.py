"""What every billing part shares: the database, the clock, the bus, the buildings, the money locks and the
lookups of opened meters, open accounts and earlier results."""

from __future__ import annotations

import asyncio
import fnmatch
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from . import ledger
from .alarms import Thresholds
from .const import EVENT_BILLING_ALARM
from .credit import own_first
from .delivery import deliveries_of
from .errors import BillingError
from .models import AccountRow, MeterRow, TransactionRow

if TYPE_CHECKING:
    from scada_core.clock import Clock
    from scada_core.core import EventBus
    from scada_core.storage.database import Database

Spawn = Callable[[Coroutine[Any, Any, Any], str], Any]

# Built once: every sale looks its meter and account up (locked on PostgreSQL).
METER = select(MeterRow).where(MeterRow.entity_id == bindparam("meter_id"))
METER_LOCKED = METER.with_for_update()
ACCOUNT = select(AccountRow).where(AccountRow.id == bindparam("account_id"))
ACCOUNT_LOCKED = ACCOUNT.with_for_update()


def opened_meter(session: Session, entity_id: str, lock: bool = False) -> MeterRow:
    """Return an opened meter's row (row-locked on PostgreSQL when ``lock``) or raise (a sync body)."""
    meter = session.execute(METER_LOCKED if lock else METER, {"meter_id": entity_id}).scalar_one_or_none()
    if meter is None or meter.account_id is None:
        raise BillingError(f"表计 {entity_id} 未开户", f"meter {entity_id} has no open account")
    return meter


def open_account_row(session: Session, account_id: int, lock: bool = False) -> AccountRow:
    """Return an open account (row-locked on PostgreSQL when ``lock``) or raise (a sync body)."""
    account = session.execute(ACCOUNT_LOCKED if lock else ACCOUNT, {"account_id": account_id}).scalar_one_or_none()
    if account is None:
        raise BillingError(f"账户 {account_id} 不存在", f"account {account_id} does not exist")
    if account.status != "open":
        raise BillingError(f"账户 {account_id} 已销户", f"account {account_id} is closed")
    return account


def earlier_posting(session: Session, key: str, **expected: Any) -> TransactionRow | None:
    """Return the transaction posted earlier under ``key``, or None; a key reused for another request (any of
    ``expected`` differs) is refused (a sync body)."""
    row = session.execute(ledger.BY_KEY, {"key": key}).scalar_one_or_none()
    for name, value in expected.items():
        if row is not None and value is not None and getattr(row, name) != value:
            raise BillingError(
                f"幂等键 {key} 已用于另一笔业务", f"idempotency key {key} was used for a different request"
            )
    return row


def building_of(buildings: dict[str, dict[str, Any]], entity_id: str) -> str:
    """Return the building whose meter patterns match ``entity_id`` (the first one otherwise)."""
    for building_id, building in buildings.items():
        if any(fnmatch.fnmatchcase(entity_id, pattern) for pattern in building.get("meters", ())):
            return building_id
    return next(iter(buildings))


class Books:
    """The shared plumbing of the billing parts (no part reaches another's state through it)."""

    def __init__(
        self, db: Database, clock: Clock, bus: EventBus, buildings: dict[str, dict[str, Any]], spawn: Spawn
    ) -> None:
        self.db = db
        self.clock = clock
        self.bus = bus
        self.buildings = buildings
        self._building_of: dict[str, str] = {}
        self.spawn = spawn  # start a task the core cancels at stop
        self.closing: set[int] = set()  # accounts being closed: their meters raise no level alarms
        self._meter_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._account_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    def meter_lock(self, entity_id: str) -> asyncio.Lock:
        """Return the lock that serialises money movements of one meter."""
        return self._meter_locks[entity_id]

    def account_lock(self, account_id: int) -> asyncio.Lock:
        """Return the lock that serialises wallet movements of one account."""
        return self._account_locks[account_id]

    def now(self) -> float:
        """Return the current POSIX time of the core's clock."""
        return self.clock.timestamp()

    def fire(self, event_type: str, events: list[dict[str, Any]]) -> None:
        """Fire events collected inside a transaction that has committed."""
        for data in events:
            self.bus.async_fire(event_type, data)

    def fire_alarms(self, events: list[dict[str, Any]]) -> None:
        """Fire billing_alarm events."""
        self.fire(EVENT_BILLING_ALARM, events)

    def building_of(self, entity_id: str) -> str:
        """Return the building whose meter patterns match ``entity_id`` (the first one otherwise; remembered: the
        buildings are configuration, fixed while the core runs)."""
        found = self._building_of.get(entity_id)
        if found is None:
            found = self._building_of[entity_id] = building_of(self.buildings, entity_id)
        return found

    def building(self, building_id: str) -> dict[str, Any]:
        """Return a building's settings or raise."""
        try:
            return self.buildings[building_id]
        except KeyError:
            raise BillingError(f"未知楼宇 {building_id}", f"unknown building {building_id}") from None

    def thresholds(
        self, account: AccountRow | None, building_id: str, meter: MeterRow | None = None
    ) -> Thresholds:
        """Return the alarm levels of a meter in ``building_id`` paying from ``account``.

        The overdraft is the meter's own when set, else the account's, else the building's; the alarm levels
        and the overload limit are the meter's own when set, else the building's.
        """
        building = self.buildings.get(building_id, {})
        overdraft, _ = own_first(
            meter.overdraft_fen if meter is not None else None,
            account.overdraft_fen if account is not None else None,
            building.get("overdraft_fen", 0),
        )

        def own(name: str, default: int | None) -> int | None:
            value = getattr(meter, name) if meter is not None else None
            return building.get(name, default) if value is None else value

        return Thresholds(
            alarm1_fen=int(own("alarm1_fen", 5000) or 0),
            alarm2_fen=int(own("alarm2_fen", 1000) or 0),
            overdraft_fen=int(overdraft or 0),
            overload_w=own("overload_w", None),
        )

    async def get_meter(self, session: AsyncSession, entity_id: str, *, lock: bool = False) -> MeterRow:
        """Return an opened meter's row (row-locked on PostgreSQL when ``lock``) or raise."""
        return await session.run_sync(opened_meter, entity_id, lock)

    async def get_account(self, session: AsyncSession, account_id: int, *, lock: bool = False) -> AccountRow:
        """Return an open account (row-locked on PostgreSQL when ``lock``) or raise."""
        return await session.run_sync(open_account_row, account_id, lock)

    async def repeated(self, session: AsyncSession, key: str, **expected: Any) -> dict[str, Any] | None:
        """Return the earlier result of ``key``, or None; a key reused for another request is refused."""
        row = await session.run_sync(earlier_posting, key, **expected)
        return None if row is None else await self.result_of(session, row, repeated=True)

    async def taken(self, error: ledger.KeyTaken) -> dict[str, Any]:
        """Return the first result of a key another request posted first (its write has rolled back)."""
        async with self.db.session() as session:
            earlier = await self.repeated(session, error.key)
        if earlier is None:
            raise error.__cause__ or error
        return earlier

    async def result_of(
        self, session: AsyncSession, row: TransactionRow, repeated: bool = False
    ) -> dict[str, Any]:
        """Return a transaction with its entries and delivery state."""
        return {
            "transaction": ledger.transaction_dict(row),
            "entries": [{"account": a, "amount_fen": v} for a, v in await ledger.entries_of(session, row.id)],
            "deliveries": await deliveries_of(session, row.id),
            "repeated": repeated,
        }
