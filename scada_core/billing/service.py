"""BillingService: the money side of OpenPrepay, for the web layer, Alipay and automations.

Get it with ``core.data["billing"]``. Every money-moving method is async, takes an ``idempotency_key``
(a repeat returns the first result with ``"repeated": True`` and changes nothing) and an ``operator``
({"id": str, "role": "admin"|"cashier"|"system"}; the web layer authenticates, billing checks the role).
Amounts are integer fen. Errors are ``BillingError`` (zh-CN / en message, HTTP 400).

Accounts (accounts.py):
  open_account(name, meters, operator, building=None, phone=None, overdraft_fen=None, credit_cap_fen=None) -> dict
  close_account(account_id, operator, idempotency_key, method="cash") -> dict   (销户: remaining money refunded)
  move_meter(entity_id, account_id, operator) -> dict
  replace_meter(old_entity_id, new_entity_id, operator, idempotency_key, remaining_fen=None) -> dict  (换表)
  set_meter_credit(entity_id, operator, overdraft_fen=None, credit_cap_fen=None) -> dict   (admin; a
    meter's own 透支/囤积限值, None follows the account, then the building; recorded with operator and time)
  meter_credit(entity_id) -> dict   (own and effective overdraft/credit cap, and the changes, newest first)
  set_account_credit(account_id, operator, overdraft_fen=None, credit_cap_fen=None) -> dict   (admin; None
    takes the building's; the account's meters without their own policy follow at once)
  account_credit(account_id) -> dict   (as meter_credit, for the account)
Sales (sales.py):
  sell(meter_entity_id, amount_fen, method, idempotency_key, operator, reference=None, account_id=None) -> dict
  credit_payment(account_id, amount_fen, method, idempotency_key, operator, reference=None,
                 meter_entity_id=None) -> dict   (Alipay etc.; to the chosen meter, else by the account's top-up
                 rule: lowest money or shares, one transaction; accounts with a server-side meter: the wallet)
  refund(meter_entity_id, amount_fen, method, idempotency_key, operator, reason="") -> dict   (退电)
  method "wallet" in sell/refund moves wallet money to/from a meter: a transfer, never a sale or refund
Top-up rule (topup.py): topup_rule(account_id), set_topup_rule(account_id, rule, shares, operator).
  reverse(transaction_id, reason, idempotency_key, operator) -> dict   (冲正; cashier: own sale of today only)
  set_meter_thresholds(entity_id, operator, alarm1_fen=None, alarm2_fen=None, overload_w=None) -> dict   (admin;
    a meter's own 报警1/报警2/过载功率, None takes the building's; recorded like credit changes)
  meter_thresholds(entity_id) -> dict   (own and effective thresholds, and the changes, newest first)
Tariffs (tariff_store.py): set_tariff(scope, spec, effective_ts, operator) where scope is "building:<id>" or
  "meter:<entity_id>" (tiered: server-side meters only); tariffs(scope=None); tariff_for(entity_id, ts).
Desired state (desired.py): what a meter-side meter should hold (the tariff in force with the local month's TOU
  table, alarm levels, overdraft, overload limit) is compared with what it publishes and pushed where it differs:
  push_desired(entity_ids=None); reconcile_round() (deliveries, desired state, due mirrors: the reconciler's round).
Delivery (delivery.py): reconcile() settles every pending delivery; resolve_tamper(entity_id, operator,
  reason).
Queries: trial_balance(), account(account_id), account_summary(account_id) (no meter statuses), accounts(),
  account_history(account_id), transaction(id), meter_status(entity_id), meter_statuses(),
  alarms(since=None, meter_entity_id=None), active_alarms() (实时报警: the levels in force with since and reason).

Modes: meter-side meters (DTSY1352, attribute billing="meter") hold the money themselves; server-side meters
(billing="server", e.g. modbus_meter) are charged per "meter_reading" delta from the account's wallet by the
tariff in force at the reading's time (TOU by Asia/Shanghai local time, tiered by the month's/year's use, plus an
optional monthly_fee_fen) and tripped (<domain>.trip) at arrears, closed again when paid.
Ledger accounts (debit positive, every transaction sums to zero): payment methods by name (cash, alipay, wechat,
card, bank), tenant:<account id> (wallet), meter:<entity_id> (money on a meter-side meter), revenue:energy,
revenue:fee, equity:opening (money found on a meter at opening), adjustment:meter (tamper resolutions).
Alarm levels per meter: alarm1 (<= alarm1_fen), alarm2 (<= alarm2_fen), arrears (<= -overdraft_fen), overload
(power_w > overload_w), tamper, offline (失联 after offline_after s; offline.py); a meter-side meter's own
flags (alarm1, alarm2, arrears, overload) raise them too; each crossing fires billing_alarm once and is kept
for the alarm report.
Status for screens: status.meter_status(meter_row, state) or meter_status(entity_id) here: not_opened/opened/
alarm1/alarm2/arrears/offline (未开户/开户/报警1/报警2/欠费/失联) plus hold, forced_off, blocked, tripped flags;
  meter_status(entity_id) adds control: who holds the relay (staff/prepaid/none), by whom, by which service, when.
Control precedence (control.py, relay_guard.py): every relay service call of a meter passes RelayGuard: staff
  forced trip / hold > prepaid control > tenant; a refusal is ControlRefused (zh/en, HTTP 409).

Each sale to a meter-side (DTSY1352) meter is committed as pending, written with purchase count N+1
(acrel_dtsy1352.sell), read back (acrel_dtsy1352.read_prepaid) and committed as delivered. For crash tests
the environment variable OPENPREPAY_CRASH_AT=after_pending_commit|after_meter_write|after_read_back|
before_delivered_commit makes the process SIGKILL itself at that step of the next delivery (<step>:<entity_id>:
only at a delivery to that meter).
Events: billing_sale, billing_alarm, billing_payment_received (see CONTRACTS.md).
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scada_core.const import STATE_UNAVAILABLE
from scada_core.exceptions import OpenPrepayError
from scada_core.meters import billing_mode, meter_states

from . import ledger
from .accounts import AccountsMixin
from .active import ActiveAlarmsMixin
from .alarms import Thresholds
from .charging import ChargingMixin, SyncMark
from .const import (
    DEFAULT_BUILDING,
    DEFAULT_CONSUMPTION_INTERVAL,
    DEFAULT_METER_TIMEOUT,
    DEFAULT_OFFLINE_AFTER,
    DEFAULT_RECONCILE_INTERVAL,
    EVENT_BILLING_ALARM,
    MODE_METER,
    MODE_SERVER,
)
from .credit import own_first
from .delivery import DeliveryMixin
from .desired import DesiredMixin
from .errors import BillingError
from .models import AccountRow, AlarmRow, MeterRow, TransactionRow
from .offline import OfflineMixin
from .reconciler import run_reconciler
from .relay_guard import RelayGuard
from .sales import SalesMixin
from .status import meter_status
from .tariff_store import TariffMixin
from .topup import TopUpRuleMixin

if TYPE_CHECKING:
    from scada_core.core import Core

_LOGGER = logging.getLogger(__name__)

DEFAULT_BUILDINGS: dict[str, dict[str, Any]] = {
    DEFAULT_BUILDING: {"name": DEFAULT_BUILDING, "meters": ["*"], "tariff": {"kind": "flat", "price": "1"}}
}


def building_of(buildings: dict[str, dict[str, Any]], entity_id: str) -> str:
    """Return the building whose meter patterns match ``entity_id`` (the first one otherwise)."""
    for building_id, building in buildings.items():
        if any(fnmatch.fnmatchcase(entity_id, pattern) for pattern in building.get("meters", ())):
            return building_id
    return next(iter(buildings))


class BillingService(
    AccountsMixin,
    SalesMixin,
    TopUpRuleMixin,
    DeliveryMixin,
    ChargingMixin,
    TariffMixin,
    DesiredMixin,
    OfflineMixin,
    ActiveAlarmsMixin,
):
    """Accounts, ledger, tariffs, sales and their delivery to meters."""

    def __init__(self, core: Core, config: dict[str, Any] | None = None) -> None:
        config = config or {}
        if core.db is None:
            raise OpenPrepayError("billing needs the database")
        self.core = core
        self.db = core.db
        self.buildings: dict[str, dict[str, Any]] = config.get("buildings") or DEFAULT_BUILDINGS
        self.reconcile_interval: float = config.get("reconcile_interval", DEFAULT_RECONCILE_INTERVAL)
        self.meter_timeout: float = config.get("meter_timeout", DEFAULT_METER_TIMEOUT)
        self.consumption_interval: float = config.get("consumption_interval", DEFAULT_CONSUMPTION_INTERVAL)
        self.offline_after: float = config.get("offline_after", DEFAULT_OFFLINE_AFTER)
        self.offline: set[str] = set()  # meters in an offline alarm
        self._answered: set[str] = set()  # meters that answered since start-up
        self._down_since: dict[str, float] = {}  # meters counting down to an offline alarm
        self._meter_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._account_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._open_meters: dict[str, str] = {}  # opened meters and their modes, loaded at start
        self._sync_queued: set[str] = set()  # meters with a consumption sync waiting for their lock
        self._sync_marks: dict[str, SyncMark] = {}  # the state each meter-side meter was last synced from
        self.closing: set[int] = set()  # accounts being closed: their meters raise no level alarms
        self.relay_guard = RelayGuard(self)

    async def async_start(self) -> None:
        """Guard the relay services, load tariffs and open meters, listen to meters, and start the reconciler."""
        self.core.async_on_stop(self.relay_guard.async_install())
        await self.async_load_tariffs()
        await self.async_load_meters()
        await self.async_watch_offline()
        self.core.async_create_task(run_reconciler(self), "billing reconciler")

    # -- plumbing -----------------------------------------------------------------------------------

    def meter_lock(self, entity_id: str) -> asyncio.Lock:
        """Return the lock that serialises money movements of one meter."""
        return self._meter_locks[entity_id]

    def account_lock(self, account_id: int) -> asyncio.Lock:
        """Return the lock that serialises wallet movements of one account."""
        return self._account_locks[account_id]

    def now(self) -> float:
        """Return the current POSIX time of the core's clock."""
        return self.core.clock.timestamp()

    def fire_after_commit(self, event_type: str, events: list[dict[str, Any]]) -> None:
        """Fire events collected inside a transaction that has committed."""
        for data in events:
            self.core.bus.async_fire(event_type, data)

    def fire_alarms(self, events: list[dict[str, Any]]) -> None:
        """Fire billing_alarm events."""
        self.fire_after_commit(EVENT_BILLING_ALARM, events)

    async def call_meter(
        self, entity_id: str, service: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Call an entity service of the meter's domain and return this meter's result."""
        domain = entity_id.split(".", 1)[0]
        try:
            async with asyncio.timeout(self.meter_timeout):
                response = await self.core.services.async_call(
                    domain, service, {"entity_id": entity_id, **(data or {})}
                )
        except TimeoutError:
            raise BillingError(
                f"表计 {entity_id} 在 {self.meter_timeout:g} 秒内没有应答",
                f"meter {entity_id} did not answer within {self.meter_timeout:g} s",
            ) from None
        return dict((response or {}).get("results", {}).get(entity_id) or {})

    # -- buildings and meters -----------------------------------------------------------------------

    def building_of(self, entity_id: str) -> str:
        """Return the building whose meter patterns match ``entity_id`` (the first one otherwise)."""
        return building_of(self.buildings, entity_id)

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

    def mode_of(self, entity_id: str) -> str:
        """Return how a meter is billed: what it declares (scada_core.meters), else what it declared when its
        account was opened, else server-side."""
        return billing_mode(self.core.states.get(entity_id)) or self._open_meters.get(entity_id) or MODE_SERVER

    async def get_meter(self, session: AsyncSession, entity_id: str, *, lock: bool = False) -> MeterRow:
        """Return an opened meter's row (row-locked on PostgreSQL when ``lock``) or raise."""
        stmt = select(MeterRow).where(MeterRow.entity_id == entity_id)
        if lock:
            stmt = stmt.with_for_update()
        meter = (await session.execute(stmt)).scalar_one_or_none()
        if meter is None or meter.account_id is None:
            raise BillingError(f"表计 {entity_id} 未开户", f"meter {entity_id} has no open account")
        return meter

    async def get_account(self, session: AsyncSession, account_id: int, *, lock: bool = False) -> AccountRow:
        """Return an open account (row-locked on PostgreSQL when ``lock``) or raise."""
        stmt = select(AccountRow).where(AccountRow.id == account_id)
        if lock:
            stmt = stmt.with_for_update()
        account = (await session.execute(stmt)).scalar_one_or_none()
        if account is None:
            raise BillingError(f"账户 {account_id} 不存在", f"account {account_id} does not exist")
        if account.status != "open":
            raise BillingError(f"账户 {account_id} 已销户", f"account {account_id} is closed")
        return account

    async def repeated(self, session: AsyncSession, key: str, **expected: Any) -> dict[str, Any] | None:
        """Return the earlier result of ``key``, or None; a key reused for another request is refused."""
        row = await ledger.find_transaction(session, key)
        if row is None:
            return None
        for name, value in expected.items():
            if value is not None and getattr(row, name) != value:
                raise BillingError(
                    f"幂等键 {key} 已用于另一笔业务",
                    f"idempotency key {key} was used for a different request",
                )
        return await self.result_of(session, row, repeated=True)

    async def result_of(
        self, session: AsyncSession, row: TransactionRow, repeated: bool = False
    ) -> dict[str, Any]:
        """Return a transaction with its entries and delivery state."""
        from .delivery import deliveries_of

        return {
            "transaction": ledger.transaction_dict(row),
            "entries": [{"account": a, "amount_fen": v} for a, v in await ledger.entries_of(session, row.id)],
            "deliveries": await deliveries_of(session, row.id),
            "repeated": repeated,
        }

    # -- queries ------------------------------------------------------------------------------------

    async def trial_balance(self) -> dict[str, Any]:
        """Return every ledger account's balance; ``balanced`` is True when all entries sum to zero."""
        async with self.db.session() as session:
            return await ledger.trial_balance(session)

    async def transaction(self, transaction_id: int) -> dict[str, Any]:
        """Return one transaction with its entries and deliveries."""
        async with self.db.session() as session:
            row = await session.get(TransactionRow, transaction_id)
            if row is None:
                raise BillingError(
                    f"交易 {transaction_id} 不存在", f"transaction {transaction_id} does not exist"
                )
            return await self.result_of(session, row)

    async def meter_status(self, entity_id: str) -> dict[str, Any]:
        """Return the status of one meter (未开户/开户/报警1/报警2/欠费/失联 and flags)."""
        async with self.db.session() as session:
            meter = await session.get(MeterRow, entity_id)
        state = self.core.states.get(entity_id)
        result = meter_status(meter, state, self.core.config.language)
        result["entity_id"] = entity_id
        result["remaining_fen"] = await self.meter_balance(entity_id, meter)
        result["control"] = await self.relay_guard.holder(entity_id)
        return result

    async def meter_statuses(self) -> list[dict[str, Any]]:
        """Return the status of every meter entity and every meter billing knows."""
        async with self.db.session() as session:
            meters = {m.entity_id: m for m in (await session.execute(select(MeterRow))).scalars()}
        ids = set(meters)
        ids.update(state.entity_id for state in meter_states(self.core.states))
        language = self.core.config.language
        return [
            {"entity_id": e, **meter_status(meters.get(e), self.core.states.get(e), language)}
            for e in sorted(ids)
        ]

    async def meter_balance(self, entity_id: str, meter: MeterRow | None) -> int | None:
        """Return the money a meter has: its own last read on meter-side meters (the ledger's mirror when it
        cannot be read), the account's wallet otherwise."""
        if meter is None or meter.account_id is None:
            return None
        state = self.core.states.get(entity_id)
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

    async def alarms(
        self, since: float | None = None, meter_entity_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Return the alarm history (newest first)."""
        stmt = select(AlarmRow).order_by(AlarmRow.id.desc()).limit(1000)
        if since is not None:
            stmt = stmt.where(AlarmRow.ts >= since)
        if meter_entity_id is not None:
            stmt = stmt.where(AlarmRow.meter_entity_id == meter_entity_id)
        async with self.db.session() as session:
            rows = (await session.execute(stmt)).scalars().all()
        return [
            {
                "id": r.id,
                "ts": r.ts,
                "meter_entity_id": r.meter_entity_id,
                "account_id": r.account_id,
                "level": r.level,
                "phase": r.phase,
                "value_fen": r.value_fen,
                "reason": r.reason,
            }
            for r in rows
        ]
