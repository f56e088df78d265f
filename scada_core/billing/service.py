"""BillingService: the money side of OpenPrepay, for the web layer, Alipay and automations.

Get it with ``core.data["billing"]``. It is a thin façade: each method below delegates to one part, built in
``__init__`` with explicit dependencies: ``Books`` (books.py: database, clock, bus, buildings, money locks),
``MeterPort`` (port.py: meter services and states), ``OpenedMeters`` (opened.py), ``Deliveries``, ``Tariffs``,
``MeterMirror`` (charging.py), ``DesiredState``, ``Sales``, ``TopUpRules``, ``Accounts``, ``RelayGuard``,
``MeterStatuses`` (status.py), ``OfflineWatch``, ``ActiveAlarms`` and the ``Reconciler``. Every operation of
operations.py is validated here by its schema, whoever calls it (REST, the billing.* services, Python).
Every money-moving method is async, takes an ``idempotency_key``
(a repeat returns the first result with ``"repeated": True`` and changes nothing) and an ``operator``
({"id", "role"[, "permissions", "buildings"]}: the web layer authenticates; billing checks the role's permission
and that every account, meter, transaction and building named is one of the operator's; scope.py).
Amounts are integer fen. Errors are ``BillingError`` (zh-CN / en message, HTTP 400; a refusal by permission or
building is ``PermissionDenied``, HTTP 403).

Accounts (accounts.py):
  open_account(name, meters, operator, building=None, phone=None, overdraft_fen=None, credit_cap_fen=None,
               idempotency_key=None, email=None, leftover="keep", leftover_account_id=None) -> dict   (money
               found on a meter: kept, "clear"ed off it, or "transfer"red to that account's wallet; leftover.py)
  close_account(account_id, operator, idempotency_key, method="cash") -> dict   (销户: remaining money refunded)
  move_meter(entity_id, account_id, operator) -> dict
  replace_meter(old_entity_id, new_entity_id, operator, idempotency_key, remaining_fen=None,
                purchase_count=None) -> dict  (换表; a dead meter: what its display shows)
  set_meter_credit(entity_id, operator, overdraft_fen=None, credit_cap_fen=None) -> dict   (admin; a
    meter's own 透支/囤积限值, None follows the account, then the building; recorded with operator and time)
  meter_credit(entity_id) -> dict   (own and effective overdraft/credit cap, and the changes, newest first)
  set_account_credit(account_id, operator, overdraft_fen=None, credit_cap_fen=None) -> dict   (admin; None
    takes the building's; the account's meters without their own policy follow at once)
  account_credit(account_id) -> dict   (as meter_credit, for the account)
Sales (sales.py):
  sell(meter_entity_id, amount_fen, method, idempotency_key, operator, reference=None, reason="") -> dict
  credit_payment(account_id, amount_fen, method, idempotency_key, operator, reference=None,
                 meter_entity_id=None, chosen_earlier=False) -> dict   (Alipay etc.; to the chosen meter, else
                 by the account's top-up rule: lowest money or shares, one transaction; accounts with a
                 server-side meter: the wallet; chosen_earlier: a paid order's meter that has left the account
                 since gives way to the rule)
  refund(meter_entity_id, amount_fen, method, idempotency_key, operator, reason="") -> dict   (退电)
  method "wallet" in sell/refund moves wallet money to/from a meter: a transfer, never a sale or refund
Top-up rule (topup.py): topup_rule(account_id), set_topup_rule(account_id, rule, shares, operator).
  reverse(transaction_id, reason, idempotency_key, operator) -> dict   (冲正; cashier: own sale of today only)
  set_meter_thresholds(entity_id, operator, alarm1_fen=None, alarm2_fen=None, overload_w=None) -> dict   (admin;
    a meter's own 报警1/报警2/过载功率, None takes the building's; recorded like credit changes)
  meter_credit(entity_id) also returns the own and effective thresholds
Building settings (policies.py): set_building_policy(building_id, operator, alarm1_fen, alarm2_fen, overdraft_fen,
  credit_cap_fen=None, overload_w=None, effective_ts=None) (admin; a version from effective_ts, YAML seeds the
  first); building_policies(building_id=None).
Tariffs (tariff_store.py): set_tariff(scope, spec, effective_ts, operator) where scope is "building:<id>" or
  "meter:<entity_id>" (tiered: server-side meters only); tariffs(scope=None); tariff_for(entity_id, ts).
Load limiting (categories.py, load_limits.py): load_categories(), save_load_category(key, name, operator,
  protected=False), set_meter_category(entity_id, key, operator) (settings permission; any known meter),
  set_account_category(account_id, key, operator) (its meters without their own take it), meter_categories();
  load_plans(), load_plan(id), load_preview(plan_id, operator), create_load_plan(name, categories, duration_s, operator, action="limit"|"trip",
  limit_w=None),
  update_load_plan(plan_id, ...), run_load_plan(plan_id, operator, start_ts=None, duration_s=None,
  idempotency_key=None) (batch permission; a repeated key returns the first run), end_load_run(run_id, operator), load_runs(), load_run(run_id) (per meter: limit before, outcome,
  restore), load_history(since, until, limit, offset) / load_history_batches(since, until, size) (every run's
  meters over days: the 限电 report); an active limit run's limit is part of the desired state; a trip run trips as the system and
  releases at the end only what it still holds (load_tick.py); billing_load_limit fires per account.
Desired state (desired.py): what a meter-side meter should hold (the tariff in force with the local month's TOU
  table, alarm levels, overdraft, overload limit) is compared with what it publishes and pushed where it differs:
  push_desired(entity_ids=None); reconcile_round() (deliveries, desired state, due mirrors: the reconciler's
  round, reconciler.py); next_round_delay().
Delivery (delivery.py): reconcile() settles every pending delivery; resolve_tamper(entity_id, operator,
  reason).
Queries: trial_balance(), account(account_id), spent_by_day(account_id, since_ts, entity_id=None),
  receipt_facts(transaction_id) (money before/after, price, kWh, purchase count),
  account_summary(account_id) (no meter statuses), accounts(), account_history(account_id), transaction(id),
  meter_status(entity_id), meter_statuses(),
  alarms(since=None, meter_entity_id=None), active_alarms() (实时报警: the levels in force with since and
  reason), meter_balance(entity_id, meter_row).
Plumbing: now(), mode_of(entity_id), building_of(entity_id), building(building_id).

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
Events: billing_sale, billing_alarm, billing_payment_received (see CONTRACTS.md), billing_load_limit (load_tick.py).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from scada_core.automation.ticker import async_ensure_ticker
from scada_core.exceptions import OpenPrepayError
from scada_core.storage.group_commit import GroupCommit

from . import ledger, load_history, search
from .accounts import Accounts
from .active import ActiveAlarms
from .books import Books, building_of
from .categories import LoadCategories
from .charging import MeterMirror
from .const import (
    DEFAULT_BUILDING,
    DEFAULT_CONSUMPTION_INTERVAL,
    DEFAULT_METER_TIMEOUT,
    DEFAULT_OFFLINE_AFTER,
    DEFAULT_RECONCILE_INTERVAL,
    LEFTOVER_KEEP,
    LOAD_ACTION_LIMIT,
    MODE_METER,
)
from .delivery import Deliveries
from .desired import DesiredState
from .errors import BillingError
from .load_limits import LoadLimits
from .load_tick import LoadTick
from .methods import PaymentMethods
from .models import AlarmRow, MeterRow, TransactionRow
from .offline import OfflineWatch
from .opened import OpenedMeters
from .operations import validated
from .policies import BuildingPolicies
from .port import MeterPort
from .receipt_facts import receipt_facts
from .reconciler import Reconciler
from .relay_guard import RelayGuard
from .sales import Sales
from .scope import touched_buildings
from .search import TransactionQuery
from .spending import spent_by_day
from .status import MeterStatuses
from .tariff_store import Tariffs
from .topup import TopUpRules

if TYPE_CHECKING:
    from scada_core.core import Core

__all__ = ["DEFAULT_BUILDINGS", "BillingService", "building_of", "configured_buildings"]

DEFAULT_BUILDINGS: dict[str, dict[str, Any]] = {
    DEFAULT_BUILDING: {"name": DEFAULT_BUILDING, "meters": ["*"], "tariff": {"kind": "flat", "price": "1"}}
}


def configured_buildings(config: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Return (a copy of) the buildings a billing section names: one default building when it names none."""
    return copy.deepcopy((config or {}).get("buildings") or DEFAULT_BUILDINGS)


class BillingService:
    """Accounts, ledger, tariffs, sales and their delivery to meters: a façade over the billing parts."""

    def __init__(self, core: Core, config: dict[str, Any] | None = None) -> None:
        config = config or {}
        if core.db is None:
            raise OpenPrepayError("billing needs the database")
        self.core = core
        self.db = core.db
        # a copy: the settings versions in force are written into it (policies.py)
        self.buildings = configured_buildings(config)
        self.consumption_interval: float = config.get("consumption_interval", DEFAULT_CONSUMPTION_INTERVAL)
        self.methods = PaymentMethods()
        self.books = Books(core.db, core.clock, core.bus, self.buildings, core.async_create_task)
        self.meters = MeterPort(
            core.services, core.states, config.get("meter_timeout", DEFAULT_METER_TIMEOUT)
        )
        self.opened = OpenedMeters(core.db, self.meters)
        self.deliveries = Deliveries(self.books, self.meters, GroupCommit(core, core.db, "billing deliveries"))
        self.tariff_store = Tariffs(self.books, self.meters, self.opened)
        self.mirror = MeterMirror(
            self.books,
            self.meters,
            self.opened,
            self.deliveries,
            self.tariff_store,
            self.consumption_interval,
        )
        self.policies = BuildingPolicies(self.books)
        self.desired = DesiredState(self.books, self.meters, self.tariff_store, self.policies)
        self.relay_guard = RelayGuard(self.books, self.meters, self.mirror, core.config)
        self.categories = LoadCategories(self.books, self.meters, self.opened)
        self.load_tick = LoadTick(self.books, self.meters, self.desired, self.relay_guard)
        self.load_limits = LoadLimits(self.books, self.meters, self.load_tick)
        self.desired.overrides = self.load_limits.overrides
        self.statuses = MeterStatuses(core.db, self.meters, self.mirror, self.relay_guard, core.config)
        self.topup = TopUpRules(self.books)
        self.sales = Sales(self.books, self.opened, self.deliveries, self.mirror, self.topup)
        self.accounts_part = Accounts(
            self.books,
            self.meters,
            self.opened,
            self.deliveries,
            self.mirror,
            self.desired,
            self.sales,
            self.statuses,
        )
        self.offline = OfflineWatch(
            self.books, self.opened, config.get("offline_after", DEFAULT_OFFLINE_AFTER)
        )
        self.active = ActiveAlarms(core.db, self.meters, self.offline)
        self.reconciler = Reconciler(
            self.books,
            self.opened,
            self.deliveries,
            self.desired,
            self.mirror,
            config.get("reconcile_interval", DEFAULT_RECONCILE_INTERVAL),
        )

    async def async_start(self) -> None:
        """Guard the relay services, load tariffs and open meters, listen to meters, and start the reconciler."""
        self.core.async_on_stop(self.relay_guard.async_install())
        for effective_ts in await self.tariff_store.async_load() | await self.policies.async_load():
            self.desired.push_at(effective_ts)
        await self.opened.async_load()
        self.mirror.async_listen()
        await self.offline.async_start()
        self.load_tick.async_listen()
        async_ensure_ticker(self.core)
        self.core.async_create_task(self.reconciler.run(), "billing reconciler")

    # -- plumbing -----------------------------------------------------------------------------------

    def now(self) -> float:
        """Return the current POSIX time of the core's clock."""
        return self.books.now()

    def building_of(self, entity_id: str) -> str:
        """Return the building whose meter patterns match ``entity_id`` (the first one otherwise)."""
        return self.books.building_of(entity_id)

    def building(self, building_id: str) -> dict[str, Any]:
        """Return a building's settings or raise."""
        return self.books.building(building_id)

    async def buildings_named(self, **named: Any) -> set[str]:
        """Return the buildings of the accounts, meters, transactions and buildings named (as an operation's
        arguments name them: ``account_id``, ``entity_id``, ``transaction_id``...); raise for an unknown one."""
        return await touched_buildings(self, named)

    def tariff_building(self, version: dict[str, Any]) -> str:
        """Return the building a tariff version is for (a meter's own: the meter's building)."""
        kind, _, target = str(version["scope"]).partition(":")
        return target if kind == "building" else self.building_of(target)

    def mode_of(self, entity_id: str) -> str:
        """Return how a meter is billed (meter-side or server-side)."""
        return self.opened.mode_of(entity_id)

    def next_round_delay(self) -> float:
        """Return the seconds to the reconciler's next round."""
        return self.reconciler.next_round_delay()

    # -- accounts -----------------------------------------------------------------------------------

    @validated("open_account")
    async def open_account(
        self,
        name: str,
        meters: list[str],
        operator: Any,
        building: str | None = None,
        phone: str | None = None,
        overdraft_fen: int | None = None,
        credit_cap_fen: int | None = None,
        idempotency_key: str | None = None,
        email: str | None = None,
        leftover: str = LEFTOVER_KEEP,
        leftover_account_id: int | None = None,
    ) -> dict[str, Any]:
        """Open an account (开户) on one or more meters."""
        return await self.accounts_part.open_account(
            name, meters, operator, building, phone, overdraft_fen, credit_cap_fen, idempotency_key, email,
            leftover, leftover_account_id,
        )

    @validated("close_account")
    async def close_account(
        self, account_id: int, operator: Any, idempotency_key: str, method: str = "cash"
    ) -> dict[str, Any]:
        """Close an account (销户), refunding what it holds."""
        return await self.accounts_part.close_account(account_id, operator, idempotency_key, method)

    @validated("move_meter")
    async def move_meter(self, entity_id: str, account_id: int, operator: Any) -> dict[str, Any]:
        """Move a meter to another open account."""
        return await self.accounts_part.move_meter(entity_id, account_id, operator)

    @validated("replace_meter")
    async def replace_meter(
        self,
        old_entity_id: str,
        new_entity_id: str,
        operator: Any,
        idempotency_key: str,
        remaining_fen: int | None = None,
        purchase_count: int | None = None,
    ) -> dict[str, Any]:
        """Replace a meter (换表), moving its money to the new one."""
        return await self.accounts_part.replace_meter(
            old_entity_id, new_entity_id, operator, idempotency_key, remaining_fen, purchase_count
        )

    @validated("set_meter_credit")
    async def set_meter_credit(
        self,
        entity_id: str,
        operator: Any,
        overdraft_fen: int | None = None,
        credit_cap_fen: int | None = None,
    ) -> dict[str, Any]:
        """Admin: set a meter's own overdraft and credit cap."""
        return await self.accounts_part.set_meter_credit(entity_id, operator, overdraft_fen, credit_cap_fen)

    @validated("set_account_credit")
    async def set_account_credit(
        self,
        account_id: int,
        operator: Any,
        overdraft_fen: int | None = None,
        credit_cap_fen: int | None = None,
    ) -> dict[str, Any]:
        """Admin: set an account's overdraft and credit cap."""
        return await self.accounts_part.set_account_credit(
            account_id, operator, overdraft_fen, credit_cap_fen
        )

    @validated("set_meter_thresholds")
    async def set_meter_thresholds(
        self,
        entity_id: str,
        operator: Any,
        alarm1_fen: int | None = None,
        alarm2_fen: int | None = None,
        overload_w: int | None = None,
    ) -> dict[str, Any]:
        """Admin: set a meter's own alarm levels and overload limit."""
        return await self.accounts_part.set_meter_thresholds(
            entity_id, operator, alarm1_fen, alarm2_fen, overload_w
        )

    # -- load limiting (限电) --------------------------------------------------------------------------

    async def load_categories(self) -> list[dict[str, Any]]:
        """Return the configured load categories (用电性质): [{key, name, protected}] in their order."""
        return await self.categories.categories()

    @validated("save_load_category")
    async def save_load_category(self, key: str, name: str, operator: Any, protected: bool = False) -> dict[str, Any]:
        """Admin: add or rename a load category."""
        return await self.categories.save_category(key, name, protected, operator)

    @validated("set_meter_category")
    async def set_meter_category(self, entity_id: str, key: str | None, operator: Any) -> dict[str, Any]:
        """Admin: give a meter its load category (None: none)."""
        return await self.categories.set_meter_category(entity_id, key, operator)

    @validated("set_account_category")
    async def set_account_category(self, account_id: int, key: str | None, operator: Any) -> dict[str, Any]:
        """Admin: give an account its load category, which its meters without their own take (None: none)."""
        return await self.categories.set_account_category(account_id, key, operator)

    async def meter_categories(self) -> dict[str, str]:
        """Return {entity_id: category key} of every meter given one."""
        return await self.categories.meter_categories()

    async def load_plans(self) -> list[dict[str, Any]]:
        """Return the load-limiting plans, newest first."""
        return await self.load_limits.plans()

    async def load_plan(self, plan_id: int) -> dict[str, Any]:
        """Return one load-limiting plan."""
        return await self.load_limits.plan(plan_id)

    async def load_preview(self, plan_id: int, operator: Any) -> dict[str, Any]:
        """Return the meters ``operator`` running a plan now would limit (theirs only when kept to buildings),
        and those exempt (held)."""
        return await self.load_limits.preview(plan_id, operator)

    @validated("create_load_plan")
    async def create_load_plan(
        self, name: str, categories: list[str], duration_s: int, operator: Any, action: str = LOAD_ACTION_LIMIT,
        limit_w: int | None = None,
    ) -> dict[str, Any]:
        """Admin: add a load-limiting plan."""
        return await self.load_limits.save_plan(operator, name, categories, action, limit_w, duration_s)

    @validated("update_load_plan")
    async def update_load_plan(
        self, plan_id: int, name: str, categories: list[str], duration_s: int, operator: Any,
        action: str = LOAD_ACTION_LIMIT, limit_w: int | None = None,
    ) -> dict[str, Any]:
        """Admin: change a load-limiting plan."""
        return await self.load_limits.save_plan(operator, name, categories, action, limit_w, duration_s, plan_id)

    @validated("run_load_plan")
    async def run_load_plan(
        self, plan_id: int, operator: Any, start_ts: float | None = None, duration_s: int | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Batch permission (an automation as system): run a plan now or from start_ts (a repeated key returns
        the first run)."""
        return await self.load_limits.run_plan(plan_id, operator, start_ts, duration_s, idempotency_key)

    @validated("end_load_run")
    async def end_load_run(self, run_id: int, operator: Any) -> dict[str, Any]:
        """Batch permission (an automation as system): end a run now and restore its meters."""
        return await self.load_limits.end_run(run_id)

    async def load_runs(self) -> list[dict[str, Any]]:
        """Return the newest load-limiting runs."""
        return await self.load_limits.runs()

    async def load_run(self, run_id: int) -> dict[str, Any]:
        """Return a run with each meter's limit before, outcome and restore."""
        return await self.load_limits.run(run_id)

    async def load_history(
        self, since: float, until: float, limit: int, offset: int = 0, buildings: Iterable[str] | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Return a page of what load limiting did to each meter (of ``buildings``; None: all) in [since, until),
        newest first, and the count."""
        return await load_history.history_page(self.db, since, until, limit, offset, buildings)

    def load_history_batches(
        self, since: float, until: float, size: int, buildings: Iterable[str] | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield all of it, ``size`` rows at a time (exports)."""
        return load_history.history_batches(self.db, since, until, size, buildings)

    async def meter_credit(self, entity_id: str) -> dict[str, Any]:
        """Return a meter's own and effective credit policy and thresholds, and their changes."""
        return await self.accounts_part.meter_credit(entity_id)

    async def account_credit(self, account_id: int) -> dict[str, Any]:
        """Return an account's own and effective credit policy, and its changes."""
        return await self.accounts_part.account_credit(account_id)

    async def accounts(self, status: str | None = None) -> list[dict[str, Any]]:
        """Return every account with its meters and wallet."""
        return await self.accounts_part.accounts(status)

    async def account_summary(self, account_id: int) -> dict[str, Any]:
        """Return one account with its wallet and its meters' ids and modes."""
        return await self.accounts_part.account_summary(account_id)

    async def account(self, account_id: int) -> dict[str, Any]:
        """Return one account with its meters (each with status and money) and wallet."""
        return await self.accounts_part.account(account_id)

    async def account_history(
        self, account_id: int, limit: int = 200, kinds: Iterable[str] | None = None, offset: int = 0,
        since: float | None = None, until: float | None = None,
    ) -> list[dict[str, Any]]:
        """Return an account's transactions, newest first (``offset``: skip that many, for paging; ``since`` and
        ``until``: POSIX seconds, from inclusive, to exclusive)."""
        return await self.accounts_part.account_history(account_id, limit, kinds, offset, since, until)

    async def account_history_count(
        self, account_id: int, kinds: Iterable[str] | None = None, since: float | None = None,
        until: float | None = None,
    ) -> int:
        """Return how many transactions account_history finds with the same filters."""
        return await self.accounts_part.account_history_count(account_id, kinds, since, until)

    async def find_transactions(
        self, query: TransactionQuery, limit: int, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of the transactions ``query`` finds across accounts, newest first, and their count."""
        return await search.find_page(self.db, query, limit, offset)

    def transaction_batches(self, query: TransactionQuery, size: int) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield every transaction ``query`` finds, newest first, ``size`` at a time (exports)."""
        return search.find_batches(self.db, query, size)

    # -- sales --------------------------------------------------------------------------------------

    @validated("sell")
    async def sell(
        self,
        meter_entity_id: str,
        amount_fen: int,
        method: str,
        idempotency_key: str,
        operator: Any,
        reference: str | None = None,
        reason: str = "",
    ) -> dict[str, Any]:
        """Sell electricity to one meter (售电)."""
        return await self.sales.sell(
            meter_entity_id, amount_fen, method, idempotency_key, operator, reference, reason
        )

    @validated("credit_payment")
    async def credit_payment(
        self,
        account_id: int,
        amount_fen: int,
        method: str,
        idempotency_key: str,
        operator: Any,
        reference: str | None = None,
        meter_entity_id: str | None = None,
        chosen_earlier: bool = False,
    ) -> dict[str, Any]:
        """Take a payment for an account (Alipay, WeChat Pay, kiosk)."""
        return await self.sales.credit_payment(
            account_id,
            amount_fen,
            method,
            idempotency_key,
            operator,
            reference,
            meter_entity_id,
            chosen_earlier,
        )

    @validated("refund")
    async def refund(
        self,
        meter_entity_id: str,
        amount_fen: int,
        method: str,
        idempotency_key: str,
        operator: Any,
        reason: str = "",
    ) -> dict[str, Any]:
        """Take money back off a meter (or its account's wallet) and pay it out (退电)."""
        return await self.sales.refund(meter_entity_id, amount_fen, method, idempotency_key, operator, reason)

    @validated("reverse")
    async def reverse(
        self, transaction_id: int, reason: str, idempotency_key: str, operator: Any
    ) -> dict[str, Any]:
        """Undo a mistaken sale (冲正)."""
        return await self.sales.reverse(transaction_id, reason, idempotency_key, operator)

    async def topup_rule(self, account_id: int) -> dict[str, Any]:
        """Return the account's top-up rule and shares."""
        return await self.topup.topup_rule(account_id)

    @validated("set_topup_rule")
    async def set_topup_rule(
        self, account_id: int, rule: str, shares: dict[str, int] | None, operator: Any
    ) -> dict[str, Any]:
        """Admin or cashier: set where the account's top-ups go."""
        return await self.topup.set_topup_rule(account_id, rule, shares, operator)

    # -- tariffs, desired state and deliveries ------------------------------------------------------

    @validated("set_tariff")
    async def set_tariff(
        self, scope: str, spec: dict[str, Any], effective_ts: float, operator: Any, push: bool = True
    ) -> dict[str, Any]:
        """Add a tariff version (admin); meters are brought to it when it takes effect (``push=False``: one in
        force now is left to the caller's own push, the dashboard's tracked batch)."""
        version = await self.tariff_store.set_tariff(scope, spec, effective_ts, operator)
        await self._push_version(version["effective_ts"], push)
        return version

    async def _push_version(self, effective_ts: float, push: bool) -> None:
        """Bring meters to a new version: now, at its effective time, or (in force, ``push`` False) leave it."""
        if push or effective_ts > self.now():
            await self.desired.push_from(effective_ts)

    @validated("set_building_policy")
    async def set_building_policy(
        self,
        building_id: str,
        operator: Any,
        alarm1_fen: int,
        alarm2_fen: int,
        overdraft_fen: int,
        credit_cap_fen: int | None = None,
        overload_w: int | None = None,
        effective_ts: float | None = None,
        push: bool = True,
    ) -> dict[str, Any]:
        """Add a version of a building's alarm levels and limits (admin); meters get it when it takes effect
        (``push`` as for set_tariff)."""
        at = self.now() if effective_ts is None else effective_ts
        policy = {"alarm1_fen": alarm1_fen, "alarm2_fen": alarm2_fen, "overdraft_fen": overdraft_fen,
                  "credit_cap_fen": credit_cap_fen, "overload_w": overload_w}
        version = await self.policies.set_policy(building_id, policy, at, operator)
        await self._push_version(version["effective_ts"], push)
        return version

    async def building_policies(self, building_id: str | None = None) -> list[dict[str, Any]]:
        """Return the versions of buildings' settings (of one building), newest effective first."""
        return await self.policies.versions(building_id)

    def building_policy(self, building_id: str) -> dict[str, Any]:
        """Return the alarm levels and limits a building has now."""
        return self.policies.in_force(building_id)

    def meter_side_meters(self, building_id: str) -> list[str]:
        """Return the opened meter-side meters of a building (those a push of its tariff or settings reaches)."""
        return sorted(e for e in self.opened.opened(MODE_METER) if self.building_of(e) == building_id)

    async def tariffs(self, scope: str | None = None) -> list[dict[str, Any]]:
        """Return every tariff version (of one scope), newest first."""
        return await self.tariff_store.tariffs(scope)

    async def tariff_for(self, entity_id: str, ts: float | None = None) -> dict[str, Any]:
        """Return the tariff spec in force for a meter (now by default)."""
        return await self.tariff_store.tariff_for(entity_id, ts)

    async def desired_settings(self, entity_id: str) -> dict[str, int] | None:
        """Return the settings (alarm levels, overdraft, overload limit) billing wants a meter-side meter to hold
        (None when the meter is not opened or is server-side)."""
        desired = (await self.desired.desired_of([entity_id])).get(entity_id)
        return None if desired is None else desired.settings

    async def push_desired(self, entity_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Bring opened meter-side meters (all, or ``entity_ids``) to what they should hold."""
        return await self.desired.push(entity_ids)

    async def reconcile(self) -> dict[str, int]:
        """Settle every pending delivery from its meter's purchase count; return counts per outcome."""
        return await self.deliveries.reconcile()

    async def reconcile_round(self) -> dict[str, int]:
        """Run one reconciler round now (deliveries, desired state, due mirrors)."""
        return await self.reconciler.round()

    @validated("resolve_tamper")
    async def resolve_tamper(self, entity_id: str, operator: Any, reason: str = "") -> dict[str, Any]:
        """Admin only: accept the meter's purchase count and money, unblock and redeliver."""
        return await self.deliveries.resolve_tamper(entity_id, operator, reason)

    # -- queries ------------------------------------------------------------------------------------

    async def trial_balance(self) -> dict[str, Any]:
        """Return every ledger account's balance; ``balanced`` is True when all entries sum to zero."""
        async with self.db.session() as session:
            return await ledger.trial_balance(session)

    @staticmethod
    async def _transaction_row(session: Any, transaction_id: int) -> TransactionRow:
        """Return one transaction's row, or refuse an unknown id."""
        row = await session.get(TransactionRow, transaction_id)
        if row is None:
            raise BillingError(f"交易 {transaction_id} 不存在", f"transaction {transaction_id} does not exist")
        return row

    async def transaction(self, transaction_id: int) -> dict[str, Any]:
        """Return one transaction with its entries and deliveries."""
        async with self.db.session() as session:
            return await self.books.result_of(session, await self._transaction_row(session, transaction_id))

    async def spent_by_day(
        self, account_id: int, since_ts: float, entity_id: str | None = None, until_ts: float | None = None
    ) -> dict[Any, int]:
        """Return the fen an account (or one of its meters) used up on each local day in [since_ts, until_ts)."""
        async with self.db.session() as session:
            return await spent_by_day(
                session, account_id, since_ts, self.books.clock.time_zone, entity_id, until_ts
            )

    async def receipt_facts(self, transaction_id: int) -> dict[str, Any]:
        """Return what a transaction's receipt states beside the amount (receipt_facts.py)."""
        async with self.db.session() as session:
            row = await self._transaction_row(session, transaction_id)
            return await receipt_facts(session, row, self.tariff_store, self.books.clock.time_zone)

    async def meter_status(self, entity_id: str) -> dict[str, Any]:
        """Return the status of one meter (未开户/开户/报警1/报警2/欠费/失联 and flags)."""
        return await self.statuses.meter_status(entity_id)

    async def meter_statuses(self) -> list[dict[str, Any]]:
        """Return the status of every meter entity and every meter billing knows."""
        return await self.statuses.meter_statuses()

    async def meter_balance(self, entity_id: str, meter: MeterRow | None) -> int | None:
        """Return the money a meter has (its own last read, or the ledger's)."""
        return await self.mirror.meter_balance(entity_id, meter)

    async def active_alarms(self) -> list[dict[str, Any]]:
        """Return the alarms in force, by meter."""
        return await self.active.active_alarms()

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
