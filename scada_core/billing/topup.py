"""Where a top-up of an account goes: the meter the tenant chose, else the account's rule (lowest money or shares).

Rules apply to accounts whose meters are all meter-side; an account with a server-side meter, or with no
meter-side meter, takes the top-up into its wallet (server-side meters pay from it). A split by shares gives each
meter floor(amount × percent / 100) fen; the fen left over go to the meter with the largest share (the first by
entity id on a tie), so the parts always add up to the amount. Shares that name a meter no longer on the account
(replaced) give way to the lowest-money rule until staff set them again.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scada_core.permissions import PERM_ACCOUNT

from . import ledger
from .const import MODE_METER, TOPUP_LOWEST, TOPUP_SHARES
from .errors import BillingError, PermissionDenied
from .models import AccountRow, MeterRow

if TYPE_CHECKING:
    from .books import Books

_LOGGER = logging.getLogger(__name__)

Parts = list[tuple[str, int]]


def split_by_shares(amount_fen: int, shares: dict[str, int]) -> Parts:
    """Split ``amount_fen`` by percentages (summing to 100); the remainder goes to the largest share."""
    parts = {entity_id: amount_fen * percent // 100 for entity_id, percent in shares.items()}
    largest = min(shares, key=lambda entity_id: (-shares[entity_id], entity_id))
    parts[largest] += amount_fen - sum(parts.values())
    return [(entity_id, fen) for entity_id, fen in sorted(parts.items()) if fen > 0]


def check_shares(shares: Any, meters: set[str]) -> dict[str, int]:
    """Return valid shares: whole percentages of the account's meter-side meters, summing to 100."""
    if (
        not isinstance(shares, dict)
        or not shares
        or any(not isinstance(p, int) or isinstance(p, bool) or p < 0 for p in shares.values())
        or sum(shares.values()) != 100
    ):
        raise BillingError("分配比例须为整数百分比，合计 100", "shares must be whole percentages summing to 100")
    foreign = set(shares) - meters
    if foreign:
        raise BillingError(
            f"表计 {', '.join(sorted(foreign))} 不是本账户的预付费表",
            f"{', '.join(sorted(foreign))}: not a meter-side meter of this account",
        )
    return {entity_id: int(percent) for entity_id, percent in shares.items() if percent}


def rule_dict(account: AccountRow) -> dict[str, Any]:
    """Return an account's top-up rule as JSON-friendly data."""
    return {
        "account_id": account.id,
        "rule": account.topup_rule or TOPUP_LOWEST,
        "shares": json.loads(account.topup_shares) if account.topup_shares else {},
    }


class TopUpRules:
    """The account's top-up rule and the meters a payment goes to."""

    def __init__(self, books: Books) -> None:
        self.books = books
        self.db = books.db

    async def topup_rule(self, account_id: int) -> dict[str, Any]:
        """Return the account's top-up rule and shares."""
        async with self.db.session() as session:
            return rule_dict(await self.books.get_account(session, account_id))

    async def set_topup_rule(
        self, account_id: int, rule: str, shares: dict[str, int] | None, operator: Any
    ) -> dict[str, Any]:
        """Admin or cashier: set where the account's top-ups go (``shares``: {meter: percent}, for "shares")."""
        operator = ledger.Operator.from_dict(operator)
        if not operator.may(PERM_ACCOUNT):
            raise PermissionDenied(f"角色 {operator.role} 不能修改充值分配", f"role {operator.role} cannot set it")
        async with self.books.account_lock(account_id), self.db.write() as session:
            account = await self.books.get_account(session, account_id, lock=True)
            meters = {m.entity_id for m in await self._meters_of(session, account_id) if m.mode == MODE_METER}
            valid = check_shares(shares, meters) if rule == TOPUP_SHARES else None
            account.topup_rule = rule
            account.topup_shares = json.dumps(valid, sort_keys=True) if valid else None
            return rule_dict(account)

    async def _meters_of(self, session: AsyncSession, account_id: int) -> list[MeterRow]:
        return list((await session.execute(select(MeterRow).where(MeterRow.account_id == account_id))).scalars())

    async def parts(
        self,
        session: AsyncSession,
        account_id: int,
        amount_fen: int,
        chosen: str | None,
        chosen_earlier: bool = False,
    ) -> Parts | None:
        """Return the meters (and fen) a top-up goes to, or None for the wallet; refuse another account's meter,
        unless it was ``chosen_earlier`` (a paid order's choice) and has left the account since: the rule decides."""
        account = await self.books.get_account(session, account_id)
        meters = await self._meters_of(session, account_id)
        if chosen is not None:
            meter = next((m for m in meters if m.entity_id == chosen), None)
            if meter is None and chosen_earlier:
                _LOGGER.warning("%s left account %s after it was chosen; its rule decides", chosen, account_id)
                return await self.parts(session, account_id, amount_fen, None)
            if meter is None:
                raise BillingError(
                    f"表计 {chosen} 不属于账户 {account_id}", f"{chosen} is not a meter of account {account_id}"
                )
            return [(chosen, amount_fen)] if meter.mode == MODE_METER else None
        if not meters or any(m.mode != MODE_METER for m in meters):
            return None
        rule = rule_dict(account)
        present = {m.entity_id for m in meters}
        if rule["rule"] == TOPUP_SHARES and set(rule["shares"]) <= present:
            return split_by_shares(amount_fen, rule["shares"])
        held = {m.entity_id: await ledger.held(session, ledger.meter_account(m.entity_id)) for m in meters}
        lowest = min(held, key=lambda entity_id: (held[entity_id], entity_id))
        return [(lowest, amount_fen)]
