"""Tenants and accounts: open (开户, 一户一表/一户多表), close (销户), move a meter, replace a meter (换表)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from scada_core.permissions import PERM_ACCOUNT, PERM_SETTINGS

from . import ledger
from .const import (
    ACCOUNT_ADJUSTMENT,
    ACCOUNT_OPENING,
    ACCOUNT_REVENUE_ENERGY,
    DELIVERY_CANCELLED,
    DELIVERY_DELIVERED,
    KIND_ADJUSTMENT,
    KIND_CLOSE,
    KIND_CONSUMPTION,
    KIND_OPENING,
    KIND_TRANSFER,
    LEFTOVER_KEEP,
    LEVEL_NORMAL,
    MODE_METER,
    OP_REFUND,
    OP_SELL,
    THRESHOLD_NAMES,
)
from .credit import credit_cap_of, fen_text
from .delivery import add_delivery, counts_ahead, pending_of
from .desired import OUTCOME_HELD, OUTCOME_PUSHED, desired_settings
from .errors import BillingError, PermissionDenied
from .leftover import Leftovers, opening_key
from .models import AccountRow, CreditChangeRow, EntryRow, MeterRow, TransactionRow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from .books import Books
    from .charging import MeterMirror
    from .delivery import Deliveries
    from .desired import DesiredState
    from .opened import OpenedMeters
    from .port import MeterPort
    from .sales import Sales
    from .status import MeterStatuses

def holder_of(ledger_account: str | None) -> str | None:
    """Return who holds a transfer's side: "wallet" for a tenant's wallet, the entity id for a meter."""
    if ledger_account is None:
        return None
    kind, _, name = ledger_account.partition(":")
    return "wallet" if kind == "tenant" else name


def _require_staff(operator: ledger.Operator) -> None:
    operator.require(PERM_ACCOUNT)


def _history_conditions(
    account_id: int, kinds: Iterable[str] | None, since: float | None, until: float | None
) -> list[Any]:
    """The conditions of an account's history: its own transactions and those moving its wallet."""
    wallet_entries = select(EntryRow.transaction_id).where(EntryRow.account == ledger.tenant_account(account_id))
    conditions: list[Any] = [or_(TransactionRow.account_id == account_id, TransactionRow.id.in_(wallet_entries))]
    if kinds is not None:
        conditions.append(TransactionRow.kind.in_(list(kinds)))
    if since is not None:
        conditions.append(TransactionRow.ts >= since)
    if until is not None:
        conditions.append(TransactionRow.ts < until)
    return conditions


def account_dict(account: AccountRow, meters: list[MeterRow], wallet_fen: int) -> dict[str, Any]:
    """Return a JSON-friendly account."""
    return {
        "id": account.id,
        "building": account.building,
        "name": account.name,
        "phone": account.phone,
        "email": account.email,
        "status": account.status,
        "overdraft_fen": account.overdraft_fen,
        "credit_cap_fen": account.credit_cap_fen,
        "opened_ts": account.opened_ts,
        "closed_ts": account.closed_ts,
        "wallet_fen": wallet_fen,
        "load_category": account.load_category,
        "meters": [{"entity_id": m.entity_id, "mode": m.mode} for m in meters],
    }


CREDIT_WHAT = ("透支额度和囤积限值", "overdraft and credit caps")
THRESHOLDS_WHAT = ("报警金额和过载功率", "alarm levels and overload limits")


def _admin(operator: Any, what_zh: str, what_en: str) -> ledger.Operator:
    """Return the operator of a change of ``what``, refusing one without the settings permission."""
    operator = ledger.Operator.from_dict(operator)
    if not operator.may(PERM_SETTINGS):
        raise PermissionDenied(f"没有修改{what_zh}的权限", f"not allowed to change {what_en}")
    return operator


async def _credit_changes(session: AsyncSession, *where: Any) -> list[dict[str, Any]]:
    """Return the newest 100 credit policy changes matching ``where``."""
    rows = (
        await session.execute(
            select(CreditChangeRow).where(*where).order_by(CreditChangeRow.id.desc()).limit(100)
        )
    ).scalars()
    return [
        {
            "ts": c.ts,
            "account_id": c.account_id,
            "operator": {"id": c.operator_id, "role": c.operator_role},
            "overdraft_fen": c.overdraft_fen,
            "credit_cap_fen": c.credit_cap_fen,
            **{name: getattr(c, name) for name in THRESHOLD_NAMES},
        }
        for c in rows
    ]


def _meter_change(meter: MeterRow, account_id: int, operator: ledger.Operator, ts: float) -> CreditChangeRow:
    """Return the record of a change of a meter's own settings: all of them as they are after the change."""
    return CreditChangeRow(
        ts=ts,
        meter_entity_id=meter.entity_id,
        account_id=account_id,
        operator_id=operator.id,
        operator_role=operator.role,
        overdraft_fen=meter.overdraft_fen,
        credit_cap_fen=meter.credit_cap_fen,
        **{name: getattr(meter, name) for name in THRESHOLD_NAMES},
    )


class Accounts:
    """Open, close and change accounts."""

    def __init__(
        self,
        books: Books,
        meters: MeterPort,
        opened: OpenedMeters,
        deliveries: Deliveries,
        mirror: MeterMirror,
        desired: DesiredState,
        sales: Sales,
        statuses: MeterStatuses,
    ) -> None:
        self.books = books
        self.db = books.db
        self.meters = meters
        self.opened = opened
        self.deliveries = deliveries
        self.mirror = mirror
        self.desired = desired
        self.sales = sales
        self.statuses = statuses
        self.leftovers = Leftovers(books, sales, mirror)

    async def _read_for_opening(self, entity_id: str) -> dict[str, Any]:
        """Read a meter before it is attached (no transaction may be open: the field layer writes too)."""
        if self.meters.state(entity_id) is None:
            raise BillingError(f"未知表计 {entity_id}", f"unknown meter {entity_id}")
        if self.opened.mode_of(entity_id) != MODE_METER:
            return {}
        return await self.meters.call(entity_id, "read_prepaid")

    async def _attach(
        self,
        session: AsyncSession,
        entity_id: str,
        account: AccountRow,
        operator: ledger.Operator,
        key: str,
        read: dict[str, Any],
    ) -> MeterRow:
        """Attach a meter to ``account``; take its purchase count and post money already on it (meter lock held)."""
        meter = await session.get(MeterRow, entity_id, with_for_update=True)
        if meter is not None and meter.account_id is not None:
            raise BillingError(
                f"表计 {entity_id} 已开户", f"meter {entity_id} already belongs to account {meter.account_id}"
            )
        mode = self.opened.mode_of(entity_id)
        if meter is None:
            meter = MeterRow(entity_id=entity_id, tier_wh=0, overload=False, tripped=False, blocked=False)
            session.add(meter)
        meter.building, meter.account_id, meter.mode = account.building, account.id, mode
        meter.alarm_level, meter.tripped, meter.tier_period, meter.tier_wh, meter.fee_month = (
            LEVEL_NORMAL,
            False,
            None,
            0,
            None,
        )
        meter.purchase_count = meter.purchase_count or 0
        if mode == MODE_METER:
            meter.purchase_count = int(read["purchase_count"])
            meter_acct = ledger.meter_account(entity_id)
            found = int(read["remaining_fen"]) - await ledger.held(session, meter_acct)
            if found:
                await ledger.post(
                    session,
                    kind=KIND_OPENING,
                    idempotency_key=opening_key(key, entity_id),
                    entries=[(ACCOUNT_OPENING, found), (meter_acct, -found)],
                    operator=operator,
                    ts=self.books.now(),
                    amount_fen=found,
                    reason="money found on the meter when opened",
                    account_id=account.id,
                    meter_entity_id=entity_id,
                    building=account.building,
                )
        else:
            state = self.meters.state(entity_id)
            total = state.attributes.get("total_wh") if state is not None else None
            meter.last_total_wh = int(total) if total is not None else None
            meter.last_reading_ts = self.books.now() if total is not None else None
        await session.flush()
        return meter

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
        """Open an account (开户) on one or more meters; money already on a meter is booked as found, then kept
        for the new tenant, cleared off the meter or moved to another account's wallet (``leftover``).

        A repeated ``idempotency_key`` returns the account it opened (with ``"repeated": True``) and finishes
        what the first call left of the leftover money's moves.
        """
        operator = ledger.Operator.from_dict(operator)
        _require_staff(operator)
        await self.leftovers.check(leftover, leftover_account_id)
        if idempotency_key:
            async with self.db.session() as session:
                opened = (
                    await session.execute(select(AccountRow.id).where(AccountRow.open_key == idempotency_key))
                ).scalar_one_or_none()
            if opened is not None:
                settled = await self.leftovers.settle(idempotency_key, meters, leftover, leftover_account_id,
                                                      operator)
                return {**await self.account(opened), "leftover": settled, "repeated": True}
        building_id = building or self.books.building_of(meters[0])
        settings = self.books.building(building_id)
        key = idempotency_key or f"open:{self.books.now()}:{meters[0]}"
        locks = [self.books.meter_lock(e) for e in sorted(set(meters))]
        for lock in locks:
            await lock.acquire()
        try:
            reads = {e: await self._read_for_opening(e) for e in meters}
            async with self.db.write() as session:
                account = AccountRow(
                    building=building_id,
                    name=name,
                    phone=phone,
                    email=email,
                    open_key=idempotency_key,
                    status="open",
                    overdraft_fen=settings.get("overdraft_fen", 0)
                    if overdraft_fen is None
                    else overdraft_fen,
                    credit_cap_fen=credit_cap_fen,
                    opened_ts=self.books.now(),
                )
                session.add(account)
                await session.flush()
                rows = [await self._attach(session, e, account, operator, key, reads[e]) for e in meters]
        finally:
            for lock in locks:
                lock.release()
        for row in rows:
            self.mirror.remember_meter(row.entity_id, row.mode)
        await self.desired.push(r.entity_id for r in rows if r.mode == MODE_METER)
        for row in rows:
            if row.mode == MODE_METER:
                async with self.books.meter_lock(row.entity_id):
                    await self.mirror.sync_meter(row.entity_id)
        await self.mirror.refresh_account(account.id)
        settled = await self.leftovers.settle(key, meters, leftover, leftover_account_id, operator)
        return {**account_dict(account, rows, 0), "leftover": settled, "repeated": False}

    async def _bring_to_desired(self, entity_id: str) -> bool:
        """Push what a meter-side meter should hold now (it warns and trips as we do); tell if it holds it."""
        outcome = (await self.desired.push([entity_id])).get(entity_id)
        return outcome in (OUTCOME_HELD, OUTCOME_PUSHED)

    async def set_meter_credit(
        self,
        entity_id: str,
        operator: Any,
        overdraft_fen: int | None = None,
        credit_cap_fen: int | None = None,
    ) -> dict[str, Any]:
        """Admin: set an opened meter's own overdraft (透支) and credit cap (囤积限值); None follows the account.

        The change is recorded with its operator and time; a meter-side meter gets the overdraft pushed,
        and the meter's status is re-evaluated at once.
        """
        operator = _admin(operator, *CREDIT_WHAT)

        def change(meter: MeterRow, _account: AccountRow) -> None:
            meter.overdraft_fen, meter.credit_cap_fen = overdraft_fen, credit_cap_fen

        return await self._change_meter(entity_id, operator, change)

    async def _change_meter(
        self,
        entity_id: str,
        operator: ledger.Operator,
        change: Callable[[MeterRow, AccountRow], None],
    ) -> dict[str, Any]:
        """Apply and record an admin's change of a meter's own settings, bring the meter to it, re-evaluate its
        levels; return ``meter_credit`` with ``pushed`` (None for a server-side meter)."""
        pushed = None
        async with self.books.meter_lock(entity_id):
            async with self.db.write() as session:
                meter = await self.books.get_meter(session, entity_id, lock=True)
                account = await self.books.get_account(session, meter.account_id)
                change(meter, account)
                settings = desired_settings(self.books.thresholds(account, meter.building, meter))
                refused = self.meters.refusal(entity_id, "push_settings", settings)
                if meter.mode == MODE_METER and refused:
                    raise BillingError(f"表计不接受此设置：{refused}", f"the meter would refuse it: {refused}")
                session.add(_meter_change(meter, account.id, operator, self.books.now()))
            if meter.mode == MODE_METER:
                pushed = await self._bring_to_desired(entity_id)
                await self.mirror.sync_meter(entity_id)
        if meter.mode != MODE_METER:
            await self.mirror.refresh_account(account.id)
        return {**await self.meter_credit(entity_id), "pushed": pushed}

    async def meter_credit(self, entity_id: str) -> dict[str, Any]:
        """Return a meter's own credit policy and thresholds, those in force (meter, account, building) and its
        changes."""
        async with self.db.session() as session:
            meter = await self.books.get_meter(session, entity_id)
            account = await session.get(AccountRow, meter.account_id)
            history = await _credit_changes(session, CreditChangeRow.meter_entity_id == entity_id)
        building = self.books.buildings.get(meter.building, {})
        cap, _ = credit_cap_of(meter, account, building.get("credit_cap_fen"))
        limits = self.books.thresholds(account, meter.building, meter)
        return {
            "entity_id": entity_id,
            "account_id": meter.account_id,
            "overdraft_fen": meter.overdraft_fen,
            "credit_cap_fen": meter.credit_cap_fen,
            "effective_overdraft_fen": limits.overdraft_fen,
            "effective_credit_cap_fen": cap,
            **{name: getattr(meter, name) for name in THRESHOLD_NAMES},
            **{f"effective_{name}": getattr(limits, name) for name in THRESHOLD_NAMES},
            "changes": history,
        }

    async def set_meter_thresholds(
        self,
        entity_id: str,
        operator: Any,
        alarm1_fen: int | None = None,
        alarm2_fen: int | None = None,
        overload_w: int | None = None,
    ) -> dict[str, Any]:
        """Admin: set an opened meter's own alarm levels (报警1/报警2) and overload limit; None takes the building's.

        Recorded with operator and time like a credit change; a meter-side meter gets them pushed, and its
        levels are re-evaluated at once. Returns ``meter_credit`` with ``pushed``.
        """
        operator = _admin(operator, *THRESHOLDS_WHAT)

        def change(meter: MeterRow, account: AccountRow) -> None:
            meter.alarm1_fen, meter.alarm2_fen, meter.overload_w = alarm1_fen, alarm2_fen, overload_w
            limits = self.books.thresholds(account, meter.building, meter)
            if limits.alarm2_fen > limits.alarm1_fen:
                alarm1, alarm2 = fen_text(limits.alarm1_fen), fen_text(limits.alarm2_fen)
                raise BillingError(
                    f"报警2 金额 {alarm2} 元高于报警1 金额 {alarm1} 元（报警2 在更低的余额时报警）",
                    f"alarm2 {alarm2} CNY is above alarm1 {alarm1} CNY (the second alarm comes at the lower "
                    "balance)",
                )

        return await self._change_meter(entity_id, operator, change)

    async def set_account_credit(
        self,
        account_id: int,
        operator: Any,
        overdraft_fen: int | None = None,
        credit_cap_fen: int | None = None,
    ) -> dict[str, Any]:
        """Admin: set an account's overdraft (透支) and credit cap (囤积限值).

        A None overdraft takes the building's (as at opening); a None cap follows the building's. Recorded
        like a meter's change. Meters with no policy of their own follow at once: meter-side ones
        get the new overdraft pushed and are re-evaluated, server-side ones are re-evaluated (and tripped or
        closed) with the account.
        """
        operator = _admin(operator, *CREDIT_WHAT)
        async with self.books.account_lock(account_id), self.db.write() as session:
            account = await self.books.get_account(session, account_id, lock=True)
            if overdraft_fen is None:
                overdraft_fen = self.books.buildings.get(account.building, {}).get("overdraft_fen", 0)
            account.overdraft_fen, account.credit_cap_fen = overdraft_fen, credit_cap_fen
            session.add(
                CreditChangeRow(
                    ts=self.books.now(),
                    meter_entity_id=None,
                    account_id=account_id,
                    operator_id=operator.id,
                    operator_role=operator.role,
                    overdraft_fen=overdraft_fen,
                    credit_cap_fen=credit_cap_fen,
                )
            )
            meters = list(
                (await session.execute(select(MeterRow).where(MeterRow.account_id == account_id))).scalars()
            )
        pushed: dict[str, bool] = {}
        for meter in meters:
            if meter.mode == MODE_METER and meter.overdraft_fen is None:
                async with self.books.meter_lock(meter.entity_id):
                    pushed[meter.entity_id] = await self._bring_to_desired(meter.entity_id)
                    await self.mirror.sync_meter(meter.entity_id)
        await self.mirror.refresh_account(account_id)
        return {**await self.account_credit(account_id), "pushed": pushed}

    async def account_credit(self, account_id: int) -> dict[str, Any]:
        """Return an account's own credit policy, the one in force (account, building) and its changes."""
        async with self.db.session() as session:
            account = await session.get(AccountRow, account_id)
            if account is None:
                raise BillingError(f"账户 {account_id} 不存在", f"account {account_id} does not exist")
            history = await _credit_changes(
                session, CreditChangeRow.account_id == account_id, CreditChangeRow.meter_entity_id.is_(None)
            )
        building = self.books.buildings.get(account.building, {})
        cap, _ = credit_cap_of(None, account, building.get("credit_cap_fen"))
        return {
            "account_id": account_id,
            "overdraft_fen": account.overdraft_fen,
            "credit_cap_fen": account.credit_cap_fen,
            "effective_overdraft_fen": self.books.thresholds(account, account.building).overdraft_fen,
            "effective_credit_cap_fen": cap,
            "changes": history,
        }

    async def accounts(self, status: str | None = None) -> list[dict[str, Any]]:
        """Return every account with its meters and wallet."""
        async with self.db.session() as session:
            stmt = select(AccountRow).order_by(AccountRow.id)
            if status is not None:
                stmt = stmt.where(AccountRow.status == status)
            accounts = (await session.execute(stmt)).scalars().all()
            meters = (
                (await session.execute(select(MeterRow).where(MeterRow.account_id.is_not(None))))
                .scalars()
                .all()
            )
            return [
                account_dict(
                    a,
                    [m for m in meters if m.account_id == a.id],
                    await ledger.held(session, ledger.tenant_account(a.id)),
                )
                for a in accounts
            ]

    async def account_summary(self, account_id: int) -> dict[str, Any]:
        """Return one account with its wallet and its meters' ids and modes (one read, no meter statuses)."""
        async with self.db.session() as session:
            account = await session.get(AccountRow, account_id)
            if account is None:
                raise BillingError(f"账户 {account_id} 不存在", f"account {account_id} does not exist")
            meters = (
                (await session.execute(select(MeterRow).where(MeterRow.account_id == account_id)))
                .scalars()
                .all()
            )
            return account_dict(account, list(meters), await ledger.held(session, ledger.tenant_account(account_id)))

    async def account(self, account_id: int) -> dict[str, Any]:
        """Return one account with its meters (each with status and money) and wallet."""
        result = await self.account_summary(account_id)
        result["meters"] = [await self.statuses.meter_status(m["entity_id"]) for m in result["meters"]]
        return result

    async def account_history(
        self, account_id: int, limit: int = 200, kinds: Iterable[str] | None = None, offset: int = 0,
        since: float | None = None, until: float | None = None,
    ) -> list[dict[str, Any]]:
        """Return an account's transactions (of ``kinds`` only, when given; in [since, until) when given), newest
        first; a transfer also says where its money went: ``from`` and ``to``, each "wallet" or a meter's entity
        id."""
        query = select(TransactionRow).where(*_history_conditions(account_id, kinds, since, until))
        async with self.db.session() as session:
            rows = (
                await session.execute(query.order_by(TransactionRow.id.desc()).limit(limit).offset(offset))
            ).scalars().all()
            history = [ledger.transaction_dict(r) for r in rows]
            transfers = [t for t in history if t["kind"] == KIND_TRANSFER]
            if transfers:
                legs = await ledger.legs_of(session, [t["id"] for t in transfers])
                for transfer in transfers:
                    source, target = legs.get(transfer["id"], (None, None))
                    transfer["from"], transfer["to"] = holder_of(source), holder_of(target)
            return history

    async def account_history_count(
        self, account_id: int, kinds: Iterable[str] | None = None, since: float | None = None,
        until: float | None = None,
    ) -> int:
        """Return how many transactions ``account_history`` finds with the same filters (for paging)."""
        conditions = _history_conditions(account_id, kinds, since, until)
        async with self.db.session() as session:
            return int(await session.scalar(select(func.count(TransactionRow.id)).where(*conditions)) or 0)

    async def close_account(
        self, account_id: int, operator: Any, idempotency_key: str, method: str = "cash"
    ) -> dict[str, Any]:
        """Close an account (销户): refund what its meters and wallet hold, and detach its meters."""
        operator = ledger.Operator.from_dict(operator)
        _require_staff(operator)
        async with self.db.session() as session:
            account = await session.get(AccountRow, account_id)
            if account is None:
                raise BillingError(f"账户 {account_id} 不存在", f"account {account_id} does not exist")
            if account.status != "open":
                return {"account_id": account_id, "status": account.status, "refunds": [], "repeated": True}
            meters = (
                (await session.execute(select(MeterRow).where(MeterRow.account_id == account_id)))
                .scalars()
                .all()
            )
        self.books.closing.add(account_id)
        try:
            return await self._close(account_id, meters, operator, idempotency_key, method)
        finally:
            self.books.closing.discard(account_id)

    async def _close(
        self,
        account_id: int,
        meters: list[MeterRow],
        operator: ledger.Operator,
        idempotency_key: str,
        method: str,
    ) -> dict[str, Any]:
        refunds = []
        for meter in meters:
            if meter.mode != MODE_METER:
                continue
            async with self.books.meter_lock(meter.entity_id):
                await self.deliveries.ensure_settled(meter.entity_id)
                await self.mirror.sync_meter(meter.entity_id, fresh=True)
            async with self.db.session() as session:
                on_meter = await ledger.held(session, ledger.meter_account(meter.entity_id))
            if on_meter < 0:
                raise BillingError(
                    f"表计 {meter.entity_id} 欠费未结清，不能销户",
                    f"meter {meter.entity_id} is in arrears; settle it before closing",
                )
            if on_meter > 0:
                result = await self.sales.meter_movement(
                    meter.entity_id,
                    OP_REFUND,
                    KIND_CLOSE,
                    on_meter,
                    method,
                    f"{idempotency_key}:{meter.entity_id}",
                    operator,
                    "account closed",
                    None,
                )
                if any(d["status"] != DELIVERY_DELIVERED for d in result["deliveries"]):
                    raise BillingError(
                        f"表计 {meter.entity_id} 退费未确认到表，请稍后重试销户",
                        f"the refund from {meter.entity_id} is not confirmed on the meter; retry closing later",
                    )
                refunds.append(result)
        async with self.db.session() as session:
            wallet = await ledger.held(session, ledger.tenant_account(account_id))
        if wallet < 0:
            raise BillingError(
                "账户欠费未结清，不能销户", "the account is in arrears; settle it before closing"
            )
        if wallet > 0:
            refunds.append(
                await self.sales.wallet_movement(
                    account_id,
                    KIND_CLOSE,
                    wallet,
                    method,
                    f"{idempotency_key}:wallet",
                    operator,
                    "account closed",
                    None,
                )
            )
        async with self.db.write() as session:
            account = await session.get(AccountRow, account_id)
            assert account is not None
            account.status, account.closed_ts = "closed", self.books.now()
            for meter in (
                await session.execute(select(MeterRow).where(MeterRow.account_id == account_id))
            ).scalars():
                meter.account_id, meter.alarm_level, meter.tripped = None, LEVEL_NORMAL, False
        for meter in meters:
            self.mirror.remember_meter(meter.entity_id, None)
        return {
            "account_id": account_id,
            "status": "closed",
            "refunded_fen": sum(r["transaction"]["amount_fen"] for r in refunds),
            "refunds": refunds,
            "repeated": False,
        }

    async def move_meter(
        self, entity_id: str, account_id: int, operator: Any
    ) -> dict[str, Any]:
        """Move a meter to another open account; money on a meter-side meter moves with it."""
        operator = ledger.Operator.from_dict(operator)
        _require_staff(operator)
        async with self.books.meter_lock(entity_id), self.db.write() as session:
            meter = await self.books.get_meter(session, entity_id, lock=True)
            target = await self.books.get_account(session, account_id)
            old_account = meter.account_id
            meter.account_id, meter.building = target.id, target.building
        await self.desired.push([entity_id])
        await self.mirror.refresh_account(old_account)
        await self.mirror.refresh_account(account_id)
        return {"entity_id": entity_id, "from_account_id": old_account, "account_id": account_id}

    async def replace_meter(
        self,
        old_entity_id: str,
        new_entity_id: str,
        operator: Any,
        idempotency_key: str,
        remaining_fen: int | None = None,
        purchase_count: int | None = None,
    ) -> dict[str, Any]:
        """Replace a meter (换表): move its money to the new one.

        The old meter is read; when it is dead, the operator enters ``remaining_fen`` (and ``purchase_count``
        when a sale to it was still unconfirmed) from its display, and nothing is written to it.
        """
        operator = ledger.Operator.from_dict(operator)
        _require_staff(operator)
        async with self.db.session() as session:
            earlier = await self.books.repeated(session, idempotency_key)
        if earlier is not None:
            return earlier
        first, second = sorted((old_entity_id, new_entity_id))
        async with self.books.meter_lock(first), self.books.meter_lock(second):
            async with self.db.session() as session:
                old = await self.books.get_meter(session, old_entity_id)
            dead = remaining_fen is not None
            if old.mode == MODE_METER:
                if dead:
                    await self._book_dead_meter(old, remaining_fen, purchase_count, operator, idempotency_key)
                else:
                    await self.deliveries.ensure_settled(old_entity_id)
                    await self.mirror.sync_meter(old_entity_id, fresh=True)
            deliveries = []
            read = await self._read_for_opening(new_entity_id)
            async with self.db.write() as session:
                old = await self.books.get_meter(session, old_entity_id, lock=True)
                account = await self.books.get_account(session, old.account_id)
                new = await self._attach(session, new_entity_id, account, operator, idempotency_key, read)
                amount = (
                    await ledger.held(session, ledger.meter_account(old_entity_id))
                    if old.mode == MODE_METER
                    else 0
                )
                if amount < 0:
                    raise BillingError("旧表欠费，请先结清", "the old meter is in arrears; settle it first")
                target = (
                    ledger.meter_account(new_entity_id)
                    if new.mode == MODE_METER
                    else ledger.tenant_account(account.id)
                )
                row = None
                if amount > 0:
                    row = await ledger.post(
                        session,
                        kind=KIND_TRANSFER,
                        idempotency_key=idempotency_key,
                        entries=[(ledger.meter_account(old_entity_id), amount), (target, -amount)],
                        operator=operator,
                        ts=self.books.now(),
                        amount_fen=amount,
                        reason=f"meter {old_entity_id} replaced by {new_entity_id}",
                        account_id=account.id,
                        meter_entity_id=new_entity_id,
                        building=account.building,
                    )
                    if not dead:
                        deliveries.append(add_delivery(session, old, row.id, OP_REFUND, amount, row.ts))
                    if new.mode == MODE_METER:
                        deliveries.append(add_delivery(session, new, row.id, OP_SELL, amount, row.ts))
                old.account_id, old.alarm_level, old.tripped = None, LEVEL_NORMAL, False
                new_mode = new.mode
            self.mirror.remember_meter(old_entity_id, None)
            self.mirror.remember_meter(new_entity_id, new_mode)
            await self.desired.push([new_entity_id])
            for delivery in deliveries:
                await self.deliveries.deliver(delivery)
            if row is None:
                return {"transaction": None, "entries": [], "deliveries": [], "repeated": False}
            async with self.db.session() as session:
                return await self.books.result_of(session, row)

    async def _book_dead_meter(
        self,
        meter: MeterRow,
        remaining_fen: int,
        purchase_count: int | None,
        operator: ledger.Operator,
        key: str,
    ) -> None:
        """Book a dead meter from what its display shows: a pending delivery counts as landed only when
        ``purchase_count`` says so; what it used is revenue, so the ledger then holds what moves on."""
        async with self.db.write() as session:
            in_flight = 0
            pending = await pending_of(session, meter.entity_id)
            if pending is not None:
                if purchase_count is not None and counts_ahead(purchase_count, pending.purchase_count) == 0:
                    pending.status = DELIVERY_DELIVERED
                else:
                    pending.status = DELIVERY_CANCELLED
                    in_flight = pending.amount_fen if pending.op == OP_SELL else -pending.amount_fen
                pending.settled_ts = self.books.now()
                pending.error = "meter replaced; settled from its display"
            meter_acct = ledger.meter_account(meter.entity_id)
            used = await ledger.held(session, meter_acct) - remaining_fen - in_flight
            if used:
                await ledger.post(
                    session,
                    kind=KIND_CONSUMPTION if used > 0 else KIND_ADJUSTMENT,
                    idempotency_key=f"{key}:dead",
                    entries=[
                        (meter_acct, used),
                        (ACCOUNT_REVENUE_ENERGY if used > 0 else ACCOUNT_ADJUSTMENT, -used),
                    ],
                    operator=operator,
                    ts=self.books.now(),
                    amount_fen=used,
                    reason="dead meter: use from the remaining money entered",
                    account_id=meter.account_id,
                    meter_entity_id=meter.entity_id,
                    building=meter.building,
                )
