"""The accountant's daily question: does the ledger hold together? (`openprepay db check`)

Read from one snapshot of the database, so it may run beside the server:
- every transaction has entries, and its entries sum to zero;
- every wallet (tenant:<id>) and meter mirror (meter:<entity>) account belongs to an account or meter billing knows;
- each meter-side meter's mirror holds at least the money the meter itself last reported: a reading received after
  the mirror's last posting, at the purchase count billing confirmed, with no delivery under way. The meter then
  has no money the ledger does not (less is consumption the next sync posts, not a difference).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from scada_core.storage.database import Database
from scada_core.storage.models import ReadingRow

from .const import DELIVERY_PENDING, MODE_METER
from .ledger import meter_account, tenant_account
from .models import AccountRow, DeliveryRow, EntryRow, MeterRow, TransactionRow

TENANT_PREFIX = tenant_account(0).removesuffix("0")
METER_PREFIX = meter_account("")


@dataclass
class LedgerCheck:
    """What the check found: counts, the ledger's total and every difference (one readable line each)."""

    transactions: int = 0
    entries: int = 0
    total_fen: int = 0
    meters_compared: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether every balance holds."""
        return not self.differences and self.total_fen == 0


async def async_check_ledger(db: Database) -> LedgerCheck:
    """Check the ledger as of one moment; return what differs."""
    async with db.snapshot() as conn:
        found = LedgerCheck()
        found.transactions = (await conn.execute(select(func.count()).select_from(TransactionRow))).scalar_one()
        found.entries, total = (
            await conn.execute(select(func.count(), func.coalesce(func.sum(EntryRow.amount_fen), 0)))
        ).one()
        found.total_fen = int(total)
        if found.total_fen:
            found.differences.append(f"the whole ledger sums to {found.total_fen} fen, not 0")
        found.differences += await _transactions(conn)
        found.differences += await _unknown_accounts(conn)
        compared, differences = await _meter_mirrors(conn)
        found.meters_compared = compared
        found.differences += differences
        return found


def _named(transaction_id: int, kind: str, receipt_no: str | None) -> str:
    return f"transaction {transaction_id} ({kind}{', receipt ' + receipt_no if receipt_no else ''})"


async def _transactions(conn: AsyncConnection) -> list[str]:
    """Return a line for each transaction whose entries do not sum to zero, or that has none."""
    sums = select(EntryRow.transaction_id, func.sum(EntryRow.amount_fen).label("total")).group_by(
        EntryRow.transaction_id
    ).subquery()
    rows = await conn.execute(
        select(TransactionRow.id, TransactionRow.kind, TransactionRow.receipt_no, sums.c.total)
        .outerjoin(sums, sums.c.transaction_id == TransactionRow.id)
        .where((sums.c.total.is_(None)) | (sums.c.total != 0))
        .order_by(TransactionRow.id)
    )
    return [
        f"{_named(tid, kind, receipt)}: " + ("has no entries" if total is None else f"entries sum to {total} fen, not 0")
        for tid, kind, receipt, total in rows
    ]


async def _unknown_accounts(conn: AsyncConnection) -> list[str]:
    """Return a line for each wallet or meter account of the ledger that names no account or meter billing has."""
    accounts = {str(a) for (a,) in await conn.execute(select(AccountRow.id))}
    meters = {m for (m,) in await conn.execute(select(MeterRow.entity_id))}
    rows = await conn.execute(
        select(EntryRow.account, func.sum(EntryRow.amount_fen)).group_by(EntryRow.account).order_by(EntryRow.account)
    )
    lines = []
    for account, balance in rows:
        if account.startswith(TENANT_PREFIX) and account.removeprefix(TENANT_PREFIX) not in accounts:
            lines.append(f"ledger account {account} (balance {balance} fen) names no billing account")
        elif account.startswith(METER_PREFIX) and account.removeprefix(METER_PREFIX) not in meters:
            lines.append(f"ledger account {account} (balance {balance} fen) names no billing meter")
    return lines


async def _meter_mirrors(conn: AsyncConnection) -> tuple[int, list[str]]:
    """Compare each opened meter-side meter's last reported money with its ledger mirror; return how many were
    comparable and a line for each mirror short of the meter."""
    pending = select(DeliveryRow.meter_entity_id).where(DeliveryRow.status == DELIVERY_PENDING)
    meters = (
        await conn.execute(
            select(MeterRow.entity_id, MeterRow.purchase_count)
            .where(MeterRow.mode == MODE_METER, MeterRow.account_id.is_not(None), MeterRow.blocked.is_(False),
                   MeterRow.entity_id.not_in(pending))
            .order_by(MeterRow.entity_id)
        )
    ).all()
    compared, lines = 0, []
    for entity_id, purchase_count in meters:
        account = meter_account(entity_id)
        held, last_posted = (
            await conn.execute(
                select(func.coalesce(-func.sum(EntryRow.amount_fen), 0), func.max(TransactionRow.ts))
                .join(TransactionRow, TransactionRow.id == EntryRow.transaction_id)
                .where(EntryRow.account == account)
            )
        ).one()
        reading = (
            await conn.execute(
                select(ReadingRow.money_fen, ReadingRow.received_ts)
                .where(ReadingRow.entity_id == entity_id, ReadingRow.money_fen.is_not(None),
                       ReadingRow.purchase_count == purchase_count, ReadingRow.received_ts >= (last_posted or 0))
                .order_by(ReadingRow.received_ts.desc())
                .limit(1)
            )
        ).first()
        if reading is None:
            continue
        compared += 1
        if reading.money_fen > held:
            lines.append(
                f"meter {entity_id}: the meter reported {reading.money_fen} fen (purchase count {purchase_count}), "
                f"its ledger mirror {account} holds {held} fen: {reading.money_fen - held} fen not in the ledger"
            )
    return compared, lines
