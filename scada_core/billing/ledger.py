"""The double-entry ledger: balanced, append-only transactions in integer fen; balances are sums of entries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, cast, event, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from scada_core.permissions import OUT_OF_SCOPE_EN, OUT_OF_SCOPE_ZH, builtin_permissions, may

from .const import RECEIPT_KINDS
from .errors import BillingError, PermissionDenied
from .models import EntryRow, ReceiptCounterRow, TransactionRow

# Built once: a posting is plain rows (the ORM unit of work only costs time here), and a statement object
# used again keeps its compiled form and cache key instead of rebuilding them for every sale.
ENTRIES_INSERT = insert(EntryRow.__table__)
TRANSACTION_INSERT = insert(TransactionRow.__table__).returning(TransactionRow.__table__.c.id)
BALANCE = select(func.coalesce(func.sum(EntryRow.amount_fen), 0)).where(EntryRow.account == bindparam("account"))
BY_KEY = select(TransactionRow).where(TransactionRow.idempotency_key == bindparam("key"))
UNNUMBERED = "ledger_unnumbered"  # Session.info key: transactions posted here whose receipt is numbered at commit
_COUNTERS = ReceiptCounterRow.__table__
_TRANSACTIONS = TransactionRow.__table__
_BUMP = (
    update(_COUNTERS)
    .where(_COUNTERS.c.building == bindparam("receipt_building"))
    .values(last_seq=_COUNTERS.c.last_seq + 1)
)
RECEIPT_BUMP = _BUMP.returning(_COUNTERS.c.last_seq)
_BUMPED = _BUMP.returning(_COUNTERS.c.building, _COUNTERS.c.last_seq).cte("bumped")
_BUMPED_TEXT = cast(_BUMPED.c.last_seq, String)
# PostgreSQL: the counter bumped and the transaction numbered in one statement; "<building>-<seq, 8 digits or
# more>" as _bump_receipt writes it (lpad alone would cut a longer number).
RECEIPT_NUMBER = (
    update(_TRANSACTIONS)
    .add_cte(_BUMPED)
    .where(_TRANSACTIONS.c.id == bindparam("transaction_id"), _TRANSACTIONS.c.building == _BUMPED.c.building)
    .values(
        receipt_seq=_BUMPED.c.last_seq,
        receipt_no=_BUMPED.c.building + "-" + func.lpad(_BUMPED_TEXT, func.greatest(8, func.length(_BUMPED_TEXT)), "0"),
    )
    .returning(_TRANSACTIONS.c.receipt_seq, _TRANSACTIONS.c.receipt_no)
)


@dataclass(frozen=True, slots=True)
class Operator:
    """Who asks: an operator id and role, the role's permissions (None: a built-in role's) and the buildings they
    are kept to (None: all); the web layer authenticates and says all four."""

    id: str
    role: str
    permissions: frozenset[str] | None = None
    buildings: frozenset[str] | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Operator:
        """Build from {"id", "role"[, "permissions", "buildings"]} (or return an Operator unchanged)."""
        if isinstance(data, Operator):
            return data
        if not isinstance(data, dict) or not data.get("id") or not data.get("role"):
            raise BillingError("缺少操作员", "operator {id, role} is required")
        return cls(str(data["id"]), str(data["role"]), _names(data.get("permissions")), _names(data.get("buildings")))

    def may(self, permission: str) -> bool:
        """Tell whether this operator's role allows ``permission``."""
        return may(builtin_permissions(self.role) if self.permissions is None else self.permissions, permission)

    def require(self, permission: str) -> None:
        """Refuse (PermissionDenied) unless this operator's role allows ``permission``."""
        if not self.may(permission):
            raise PermissionDenied(f"角色 {self.role} 没有“{permission}”权限", f"role {self.role} may not {permission}")

    def require_building(self, building: str) -> None:
        """Refuse (PermissionDenied) a building this operator is not kept to."""
        if self.buildings is not None and building not in self.buildings:
            raise PermissionDenied(f"{building}: {OUT_OF_SCOPE_ZH}", f"{building}: {OUT_OF_SCOPE_EN}")


def _names(value: Any) -> frozenset[str] | None:
    """Return a list of names as a set (None stays None: no restriction)."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(isinstance(v, str) for v in value):
        raise BillingError("操作员权限格式无效", "operator permissions and buildings are lists of names")
    return frozenset(value)


def tenant_account(account_id: int) -> str:
    """Return the ledger account of a tenant's prepaid balance."""
    return f"tenant:{account_id}"


def meter_account(entity_id: str) -> str:
    """Return the ledger account of the money held on a meter-side prepaid meter."""
    return f"meter:{entity_id}"


async def find_transaction(session: AsyncSession, idempotency_key: str) -> TransactionRow | None:
    """Return the transaction posted under ``idempotency_key``, if any."""
    return (await session.execute(BY_KEY, {"key": idempotency_key})).scalar_one_or_none()


async def next_receipt(session: AsyncSession, building: str) -> tuple[int, str]:
    """Bump the building's receipt counter inside this transaction (row-locked, so gap-free)."""
    return await session.run_sync(_bump_receipt, building)


def _bump_receipt(session: Session, building: str) -> tuple[int, str]:
    seq = session.execute(RECEIPT_BUMP, {"receipt_building": building}).scalar_one_or_none()
    if seq is None:  # the building's first receipt: create its counter (once, even when two race)
        _create_counter(session, building)
        seq = session.execute(RECEIPT_BUMP, {"receipt_building": building}).scalar_one()
    return seq, f"{building}-{seq:08d}"


def _create_counter(session: Session, building: str) -> None:
    maker = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    session.execute(maker(ReceiptCounterRow).values(building=building, last_seq=0).on_conflict_do_nothing())


@event.listens_for(Session, "before_commit")
def _number_receipts_at_commit(session: Session) -> None:
    """Give the transactions posted in this session their receipt numbers, the counters' row locks taken last.

    On PostgreSQL a bumped counter stays locked until commit: bumped at posting, it would hold every other sale
    of the building for the rest of the transaction (the meter checks, the deliveries); bumped here, only for the
    commit. Buildings in name order, so two commits never wait on each other's counters. Each number is one
    statement (the counter bumped and the transaction numbered together).
    """
    waiting: list[TransactionRow] = session.info.pop(UNNUMBERED, [])
    if waiting:
        session.flush()  # what the transaction still holds in memory goes first
    for row in sorted(waiting, key=lambda r: (r.building or "", r.id)):
        numbering = {"receipt_building": row.building, "transaction_id": row.id}
        numbered = session.execute(RECEIPT_NUMBER, numbering).one_or_none()
        if numbered is None:  # the building's first receipt: create its counter (once, even when two race)
            _create_counter(session, row.building or "")
            numbered = session.execute(RECEIPT_NUMBER, numbering).one()
        row.receipt_seq, row.receipt_no = numbered


def post_sync(
    session: Session,
    *,
    kind: str,
    idempotency_key: str,
    entries: Iterable[tuple[str, int]],
    operator: Operator,
    ts: float,
    amount_fen: int,
    reason: str = "",
    account_id: int | None = None,
    meter_entity_id: str | None = None,
    method: str | None = None,
    reference: str | None = None,
    building: str | None = None,
    reverses_id: int | None = None,
) -> TransactionRow:
    """Append one balanced transaction; a kind that prints a receipt takes the building's next number with it
    (a sync body: see ``post`` for async sessions)."""
    legs = [(account, int(amount)) for account, amount in entries if amount]
    if not legs or sum(amount for _, amount in legs) != 0:
        raise ValueError(f"unbalanced or empty transaction {kind}: {legs}")
    receipt_seq = receipt_no = None
    numbered_at_commit = False
    if kind in RECEIPT_KINDS:
        if building is None:
            raise ValueError(f"a {kind} prints a receipt: its building numbers it")
        if session.bind.dialect.name == "postgresql":
            numbered_at_commit = True
        else:  # one writer at a time anyway: numbered now, without a second statement at commit
            receipt_seq, receipt_no = _bump_receipt(session, building)
    values = {
        "kind": kind,
        "idempotency_key": idempotency_key,
        "ts": ts,
        "operator_id": operator.id,
        "operator_role": operator.role,
        "reason": reason,
        "account_id": account_id,
        "meter_entity_id": meter_entity_id,
        "amount_fen": amount_fen,
        "method": method,
        "reference": reference,
        "building": building,
        "receipt_seq": receipt_seq,
        "receipt_no": receipt_no,
        "reverses_id": reverses_id,
    }
    transaction_id = session.execute(TRANSACTION_INSERT, values).scalar_one()
    session.execute(
        ENTRIES_INSERT, [{"transaction_id": transaction_id, "account": a, "amount_fen": v} for a, v in legs]
    )
    row = TransactionRow(id=transaction_id, **values)
    if numbered_at_commit:
        session.info.setdefault(UNNUMBERED, []).append(row)
    return row


async def post(session: AsyncSession, **posting: Any) -> TransactionRow:
    """Append one balanced transaction in an async session (see ``post_sync``)."""
    return await session.run_sync(post_sync, **posting)


@event.listens_for(Session, "after_rollback")
def _forget_unnumbered(session: Session) -> None:
    """A rolled-back transaction's postings are gone: nothing to number."""
    session.info.pop(UNNUMBERED, None)


def balance_sync(session: Session, account: str) -> int:
    """Return the debit-positive balance of one ledger account (a sync body)."""
    return int(session.execute(BALANCE, {"account": account}).scalar_one())


async def balance(session: AsyncSession, account: str) -> int:
    """Return the debit-positive balance of one ledger account."""
    return await session.run_sync(balance_sync, account)


def held_sync(session: Session, account: str) -> int:
    """Return the money a tenant wallet or a meter holds (the credit balance of that account; a sync body)."""
    return -balance_sync(session, account)


async def held(session: AsyncSession, account: str) -> int:
    """Return the money a tenant wallet or a meter holds (the credit balance of that account)."""
    return await session.run_sync(held_sync, account)


async def trial_balance(session: AsyncSession) -> dict[str, Any]:
    """Return every account's balance and their total (zero when the books balance)."""
    rows = (
        await session.execute(
            select(EntryRow.account, func.sum(EntryRow.amount_fen))
            .group_by(EntryRow.account)
            .order_by(EntryRow.account)
        )
    ).all()
    accounts = {account: int(total) for account, total in rows}
    unbalanced = (
        await session.execute(
            select(func.count()).select_from(
                select(EntryRow.transaction_id)
                .group_by(EntryRow.transaction_id)
                .having(func.sum(EntryRow.amount_fen) != 0)
                .subquery()
            )
        )
    ).scalar_one()
    total = sum(accounts.values())
    return {
        "accounts": accounts,
        "total_fen": total,
        "unbalanced_transactions": int(unbalanced),
        "balanced": total == 0 and unbalanced == 0,
    }


async def entries_of(session: AsyncSession, transaction_id: int) -> list[tuple[str, int]]:
    """Return the legs of one transaction."""
    rows = await session.execute(
        select(EntryRow.account, EntryRow.amount_fen)
        .where(EntryRow.transaction_id == transaction_id)
        .order_by(EntryRow.id)
    )
    return [(a, int(v)) for a, v in rows.all()]


async def legs_of(session: AsyncSession, transaction_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Return (the account money left, the account it went to) of each two-sided transaction: its debit leg and
    its credit leg (debit positive)."""
    rows = await session.execute(
        select(EntryRow.transaction_id, EntryRow.account, EntryRow.amount_fen).where(
            EntryRow.transaction_id.in_(transaction_ids)
        )
    )
    legs: dict[int, list[tuple[str, int]]] = {}
    for transaction_id, account, amount in rows.all():
        legs.setdefault(int(transaction_id), []).append((account, int(amount)))
    return {
        tid: (max(pair, key=lambda leg: leg[1])[0], min(pair, key=lambda leg: leg[1])[0])
        for tid, pair in legs.items()
    }


def transaction_dict(row: TransactionRow) -> dict[str, Any]:
    """Return a JSON-friendly view of a transaction."""
    return {
        "id": row.id,
        "kind": row.kind,
        "ts": row.ts,
        "amount_fen": row.amount_fen,
        "account_id": row.account_id,
        "meter_entity_id": row.meter_entity_id,
        "method": row.method,
        "reference": row.reference,
        "operator": {"id": row.operator_id, "role": row.operator_role},
        "reason": row.reason,
        "receipt_no": row.receipt_no,
        "building": row.building,
        "reverses_id": row.reverses_id,
        "idempotency_key": row.idempotency_key,
    }


class KeyTaken(Exception):
    """Another transaction holds the idempotency key: the caller returns that one (see ``Books.taken``).

    The failed write cannot read it (PostgreSQL refuses statements in an aborted transaction), so it carries
    the key; the caller reads the first transaction once its own write has rolled back.
    """

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key} is taken")
        self.key = key


def post_once_sync(session: Session, key: str, **posting: Any) -> TransactionRow:
    """Post one balanced transaction under ``key``; raise KeyTaken (from the IntegrityError) when a concurrent
    request posted under it first (a sync body)."""
    try:
        return post_sync(session, idempotency_key=key, **posting)
    except IntegrityError as err:
        raise KeyTaken(key) from err


async def post_once(session: AsyncSession, key: str, **posting: Any) -> TransactionRow:
    """Post one balanced transaction under ``key`` in an async session (see ``post_once_sync``)."""
    return await session.run_sync(post_once_sync, key, **posting)
