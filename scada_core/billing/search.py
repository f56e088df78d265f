"""Find transactions across accounts (交易查询): by time, kind, method, operator, shop and receipt number; a page
of them with the total, or all of them in batches for an export that never holds them all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, func, or_, select

from . import ledger
from .models import AccountRow, TransactionRow

if TYPE_CHECKING:
    from scada_core.storage.database import Database

MAX_TEXT = 64  # characters of a shop or receipt-number filter (longer matches nothing anyway)


def in_buildings(buildings: frozenset[str]) -> ColumnElement[bool]:
    """Return the condition that a transaction (its account joined as AccountRow) is of one of ``buildings``."""
    return func.coalesce(TransactionRow.building, AccountRow.building).in_(sorted(buildings))


@dataclass(frozen=True, slots=True)
class TransactionQuery:
    """What to find; every field left None matches all."""

    since: float | None = None  # POSIX seconds, from (inclusive)
    until: float | None = None  # to (exclusive)
    kind: str | None = None
    method: str | None = None
    operator: str | None = None  # the operator's id, whole
    shop: str | None = None  # an account number, or part of the shop's name
    receipt_no: str | None = None  # a whole receipt number or its end (the digits printed on the paper)
    buildings: frozenset[str] | None = None  # an operator kept to buildings finds theirs only

    def conditions(self) -> list[ColumnElement[bool]]:
        """Return the WHERE conditions (the shop's account joined as AccountRow)."""
        found: list[ColumnElement[bool]] = []
        if self.since is not None:
            found.append(TransactionRow.ts >= self.since)
        if self.until is not None:
            found.append(TransactionRow.ts < self.until)
        for column, value in ((TransactionRow.kind, self.kind), (TransactionRow.method, self.method),
                              (TransactionRow.operator_id, self.operator)):
            if value:
                found.append(column == value)
        if self.shop:
            shop = self.shop[:MAX_TEXT]
            by_name = AccountRow.name.contains(shop, autoescape=True)
            found.append(or_(TransactionRow.account_id == int(shop), by_name)
                         if shop.isascii() and shop.isdigit() and len(shop) <= 9 else by_name)
        if self.receipt_no:
            number = self.receipt_no[:MAX_TEXT]
            found.append(or_(TransactionRow.receipt_no == number,
                             TransactionRow.receipt_no.endswith(number, autoescape=True)))
        if self.buildings is not None:
            found.append(in_buildings(self.buildings))
        return found


def _select(query: TransactionQuery) -> Select[Any]:
    return (
        select(TransactionRow, AccountRow.name)
        .outerjoin(AccountRow, AccountRow.id == TransactionRow.account_id)
        .where(*query.conditions())
    )


def _found(row: TransactionRow, shop: str | None) -> dict[str, Any]:
    return {**ledger.transaction_dict(row), "shop": shop}


async def find_page(
    db: Database, query: TransactionQuery, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Return one page of matches, newest first, and how many match in all."""
    async with db.session() as session:
        rows = (await session.execute(
            _select(query).order_by(TransactionRow.id.desc()).limit(limit).offset(offset)
        )).all()
        total = await session.scalar(
            select(func.count()).select_from(TransactionRow)
            .outerjoin(AccountRow, AccountRow.id == TransactionRow.account_id)
            .where(*query.conditions())
        )
    return [_found(row, shop) for row, shop in rows], int(total or 0)


async def find_batches(db: Database, query: TransactionQuery, size: int) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield every match, newest first, ``size`` at a time (each batch its own short read: an export of a
    year holds one batch in memory and no transaction open while the client downloads)."""
    before: int | None = None
    while True:
        statement = _select(query).order_by(TransactionRow.id.desc()).limit(size)
        if before is not None:
            statement = statement.where(TransactionRow.id < before)
        async with db.session() as session:
            rows = (await session.execute(statement)).all()
        if not rows:
            return
        yield [_found(row, shop) for row, shop in rows]
        before = rows[-1][0].id
