"""Money found on a meter when it is opened (开户余额): kept for the new tenant, cleared off the meter, or moved
to another open account's wallet, each exactly once (keyed by the opening's idempotency key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import ledger
from .const import (
    ACCOUNT_OPENING,
    KIND_ADJUSTMENT,
    KIND_TRANSFER,
    LEFTOVER_CLEAR,
    LEFTOVER_KEEP,
    LEFTOVER_TRANSFER,
    METHOD_WALLET,
    OP_REFUND,
)
from .errors import BillingError

if TYPE_CHECKING:
    from .books import Books
    from .charging import MeterMirror
    from .sales import Sales

REASON_CLEAR = "leftover money cleared at opening"
REASON_TRANSFER = "leftover money moved to account {account_id} at opening"


def opening_key(key: str, entity_id: str) -> str:
    """Return the idempotency key of the money found on a meter at an opening."""
    return f"{key}:opening:{entity_id}"


class Leftovers:
    """Settle the money an opening found on its meters as the operator chose."""

    def __init__(self, books: Books, sales: Sales, mirror: MeterMirror) -> None:
        self.books = books
        self.sales = sales
        self.mirror = mirror

    async def check(self, choice: str, target_account_id: int | None) -> None:
        """Refuse a transfer without an open account to take the money (before anything is opened)."""
        if choice != LEFTOVER_TRANSFER:
            return
        if target_account_id is None:
            raise BillingError("转移余额需指定接收账户 (leftover_account_id)",
                               "moving the leftover money needs the account to take it (leftover_account_id)")
        async with self.books.db.session() as session:
            await self.books.get_account(session, target_account_id)

    async def settle(
        self, key: str, entity_ids: list[str], choice: str, target_account_id: int | None, operator: ledger.Operator
    ) -> list[dict[str, Any]]:
        """Clear or move the money each meter was found with (none for ``keep``); a repeat returns the first
        results and moves nothing again."""
        if choice == LEFTOVER_KEEP:
            return []
        settled = []
        for entity_id in entity_ids:
            async with self.books.db.session() as session:
                found = await ledger.find_transaction(session, opening_key(key, entity_id))
            if found is None or found.amount_fen <= 0:
                continue
            if choice == LEFTOVER_CLEAR:
                kind, counterpart, method, reason = KIND_ADJUSTMENT, ACCOUNT_OPENING, None, REASON_CLEAR
            else:
                assert target_account_id is not None  # check() refused a transfer without one
                kind, counterpart, method = KIND_TRANSFER, ledger.tenant_account(target_account_id), METHOD_WALLET
                reason = REASON_TRANSFER.format(account_id=target_account_id)
            result = await self.sales.meter_movement(
                entity_id, OP_REFUND, kind, found.amount_fen, method, f"{key}:leftover:{entity_id}", operator,
                reason, None, counterpart=counterpart,
            )
            settled.append({"meter_entity_id": entity_id, "choice": choice, "amount_fen": found.amount_fen, **result})
        if choice == LEFTOVER_TRANSFER and settled:
            await self.mirror.refresh_account(target_account_id)
        return settled
