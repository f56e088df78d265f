"""The buildings a billing operation touches, so an operator kept to some buildings is refused the others'."""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .errors import BillingError
from .models import AccountRow, TransactionRow

if TYPE_CHECKING:
    from .service import BillingService

ACCOUNT_ARGUMENTS = ("account_id", "leftover_account_id")
ENTITY_ARGUMENTS = ("entity_id", "old_entity_id", "new_entity_id", "meter_entity_id")
BUILDING_ARGUMENTS = ("building", "building_id")


def _named_meters(arguments: dict[str, Any]) -> Iterator[str]:
    """Yield every meter entity id the arguments name (one each, a list, or a tariff's ``meter:`` scope)."""
    for name in ENTITY_ARGUMENTS:
        if isinstance(value := arguments.get(name), str):
            yield value
    for value in arguments.get("meters") or ():
        if isinstance(value, str):
            yield value
    kind, _, target = str(arguments.get("scope") or "").partition(":")
    if kind == "meter":
        yield target


async def touched_buildings(service: BillingService, arguments: dict[str, Any]) -> set[str]:
    """Return the buildings of the accounts, meters, transactions and buildings an operation's arguments name."""
    found = {str(arguments[name]) for name in BUILDING_ARGUMENTS if arguments.get(name) is not None}
    kind, _, target = str(arguments.get("scope") or "").partition(":")
    if kind == "building":
        found.add(target)
    found.update(service.building_of(entity_id) for entity_id in _named_meters(arguments))
    account_ids = [int(arguments[name]) for name in ACCOUNT_ARGUMENTS if arguments.get(name) is not None]
    async with service.db.session() as session:
        if account_ids:
            rows = await session.execute(select(AccountRow.id, AccountRow.building).where(AccountRow.id.in_(account_ids)))
            buildings = dict(rows.all())
            if missing := set(account_ids) - buildings.keys():
                raise BillingError(f"账户 {min(missing)} 不存在", f"account {min(missing)} does not exist")
            found.update(buildings.values())
        if (transaction_id := arguments.get("transaction_id")) is not None:
            row = (await session.execute(
                select(TransactionRow.building, TransactionRow.account_id, TransactionRow.meter_entity_id)
                .where(TransactionRow.id == int(transaction_id))
            )).first()
            if row is None:
                raise BillingError(f"交易 {transaction_id} 不存在", f"transaction {transaction_id} does not exist")
            found.add(row.building or (service.building_of(row.meter_entity_id) if row.meter_entity_id else ""))
    return found


async def check_scope(service: BillingService, operator: Any, arguments: dict[str, Any]) -> None:
    """Refuse an operator kept to some buildings an operation that touches another."""
    if operator.buildings is None:
        return
    for building in await touched_buildings(service, arguments):
        operator.require_building(building)
