"""Load categories (用电性质): the configured list, and the category each account and meter is given (admin)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from .accounts import _admin
from .books import Books
from .errors import BillingError
from .models import AccountRow, LoadCategoryRow, MeterRow
from .opened import OpenedMeters
from .port import MeterPort

CATEGORY_WHAT = ("用电性质", "load categories")


def category_dict(row: LoadCategoryRow) -> dict[str, Any]:
    """Return a category as the API shows it."""
    return {"key": row.key, "name": row.name, "protected": bool(row.protected)}


class LoadCategories:
    """The categories meters are given, and each meter's."""

    def __init__(self, books: Books, meters: MeterPort, opened: OpenedMeters) -> None:
        self.books = books
        self.db = books.db
        self.meters = meters
        self.opened = opened

    async def categories(self) -> list[dict[str, Any]]:
        """Return the configured categories in their order."""
        async with self.db.session() as session:
            rows = await session.execute(select(LoadCategoryRow).order_by(LoadCategoryRow.position, LoadCategoryRow.key))
            return [category_dict(row) for row in rows.scalars()]

    async def save_category(self, key: str, name: str, protected: bool, operator: Any) -> dict[str, Any]:
        """Admin: add a category or rename one (and say whether it is protected from limiting)."""
        _admin(operator, *CATEGORY_WHAT)
        async with self.db.write() as session:
            row = await session.get(LoadCategoryRow, key)
            if row is None:
                last = await session.scalar(select(func.max(LoadCategoryRow.position)))
                row = LoadCategoryRow(key=key, position=int(last or 0) + 1)
                session.add(row)
            row.name, row.protected = name, protected
            return category_dict(row)

    async def keys(self) -> set[str]:
        """Return the keys of the configured categories."""
        return {c["key"] for c in await self.categories()}

    async def _require_known(self, key: str | None, operator: Any) -> None:
        """Refuse an operator without the settings permission, or a category not configured."""
        _admin(operator, *CATEGORY_WHAT)
        if key is not None and key not in await self.keys():
            raise BillingError(f"未知用电性质 {key}", f"unknown load category {key}")

    async def set_account_category(self, account_id: int, key: str | None, operator: Any) -> dict[str, Any]:
        """Admin: give an account a category, which its meters without one of their own take (None: none);
        return {account_id, category, previous}."""
        await self._require_known(key, operator)
        async with self.db.write() as session:
            account = await session.get(AccountRow, account_id)
            if account is None:
                raise BillingError(f"账户 {account_id} 不存在", f"account {account_id} does not exist")
            previous, account.load_category = account.load_category, key
        return {"account_id": account_id, "category": key, "previous": previous}

    async def set_meter_category(self, entity_id: str, key: str | None, operator: Any) -> dict[str, Any]:
        """Admin: give a meter (opened or not) a category, or none; return {entity_id, category, previous}."""
        await self._require_known(key, operator)
        if self.meters.state(entity_id) is None:
            raise BillingError(f"未知表计 {entity_id}", f"unknown meter {entity_id}")
        async with self.db.write() as session:
            meter = await session.get(MeterRow, entity_id)
            if meter is None:
                meter = MeterRow(
                    entity_id=entity_id, building=self.books.building_of(entity_id),
                    mode=self.opened.mode_of(entity_id), tier_wh=0, overload=False, tripped=False, blocked=False,
                )
                session.add(meter)
            previous, meter.load_category = meter.load_category, key
        return {"entity_id": entity_id, "category": key, "previous": previous}

    async def meter_categories(self) -> dict[str, str]:
        """Return {entity_id: category key} of every meter given one."""
        async with self.db.session() as session:
            rows = await session.execute(
                select(MeterRow.entity_id, MeterRow.load_category).where(MeterRow.load_category.is_not(None))
            )
            return {entity_id: key for entity_id, key in rows}
