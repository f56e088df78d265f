"""The energy report (能耗报表): per day, month or year × meter, the TOU split (尖峰平谷) from the daily rollups and
the cost billing charged, grouped and subtotalled by shop, floor or building.

The meters are put in report order first (a list of ids: small); their days are then read a few meters at a time,
about ``size`` meter-days a batch, so an export of a year of ten thousand meters holds one batch, never the year.
A rate's kWh is the use of the meter's own rate counter; a day whose readings did not all carry it (and days rolled
up before the split was kept) count as unsplit: unsplit = total − the rates known. The cost is what billing posted
as consumption for the meter in the period (server-side meters: each reading's energy at the tariff in force at the
reading's time; meter-side meters: the money the meter used, at each sync), monthly fees not included.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scada_core.billing.const import KIND_CONSUMPTION
from scada_core.billing.models import AccountRow, MeterRow, TransactionRow
from scada_core.billing.tariffs import RATES
from scada_core.storage.database import Database

from .models import EnergyDailyRow
from .queries import natural_key, period_key
from .rollup import DAY_S, day_date, day_expr
from .table import kwh, yuan

ENERGY_GROUPS = ("shop", "floor", "building")
NO_GROUP = "—"
# The cells after the group, period, meter and name columns.
USAGE_COLUMNS = ("col_sharp", "col_peak", "col_flat", "col_valley", "col_unsplit", "col_kwh", "col_cost")
LINE_ROW, LINE_SUBTOTAL, LINE_TOTAL = "row", "subtotal", "total"


@dataclass(slots=True)
class Usage:
    """Wh per rate (None: no day of it had that rate's use), total Wh and the fen billing charged."""

    rates: list[int | None] = field(default_factory=lambda: [None] * len(RATES))
    total_wh: int = 0
    cost_fen: int = 0

    def add(self, total_wh: int, rates: Iterable[int | None], cost_fen: int) -> None:
        """Add one day's (or one sum's) figures."""
        self.total_wh += total_wh
        self.cost_fen += cost_fen
        for index, wh in enumerate(rates):
            if wh is not None:
                self.rates[index] = (self.rates[index] or 0) + int(wh)

    def merge(self, other: Usage) -> None:
        """Add another usage (a row into its subtotal)."""
        self.add(other.total_wh, other.rates, other.cost_fen)

    @property
    def unsplit_wh(self) -> int:
        """Return the use no rate counter accounts for."""
        return self.total_wh - sum(wh for wh in self.rates if wh is not None)

    def cells(self) -> list[Any]:
        """Return the kWh per rate, unsplit, total, and the cost in yuan (exact)."""
        return [*(kwh(wh) for wh in self.rates), kwh(self.unsplit_wh), kwh(self.total_wh), yuan(self.cost_fen)]


@dataclass(frozen=True, slots=True)
class ReportMeter:
    """A meter in the report and the shop, floor or building it is grouped under."""

    entity_id: str
    group: str


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the report: a meter's period, a group's subtotal or the grand total."""

    kind: str
    group: str
    period: str
    entity_id: str
    usage: Usage


async def report_meters(
    db: Database, first_day: int, last_day: int, offset_s: int, group: str,
    place: Callable[[str], dict[str, Any]], buildings: Collection[str] | None = None,
) -> list[ReportMeter]:
    """Return the meters with use or charges in the days (of ``buildings`` only, when given), in report order:
    by group (naturally sorted; a floor with its building), then by meter; ``place`` tells a meter's building
    and floor."""
    lo, hi = first_day * DAY_S - offset_s, (last_day + 1) * DAY_S - offset_s
    async with db.session() as session:
        used = await session.execute(
            select(EnergyDailyRow.entity_id).where(EnergyDailyRow.day >= first_day, EnergyDailyRow.day <= last_day)
            .distinct())
        charged = await session.execute(
            select(TransactionRow.meter_entity_id)
            .where(TransactionRow.kind == KIND_CONSUMPTION, TransactionRow.meter_entity_id.is_not(None),
                   TransactionRow.ts >= lo, TransactionRow.ts < hi).distinct())
        ids = set(used.scalars()) | set(charged.scalars())
        shops = await _shops(session) if group == "shop" else {}
    meters = []
    for entity_id in ids:
        where = place(entity_id)
        if buildings is not None and where.get("building") not in buildings:
            continue
        if group == "shop":
            key = shops.get(entity_id)
        elif group == "floor":  # a floor of its building: 2F of two buildings are two floors
            key = " ".join(str(part) for part in (where.get("building"), where.get("floor")) if part)
        else:
            key = where.get(group)
        meters.append(ReportMeter(entity_id, str(key or NO_GROUP)))
    meters.sort(key=lambda m: (m.group == NO_GROUP, natural_key(m.group), natural_key(m.entity_id)))
    return meters


async def _shops(session: AsyncSession) -> dict[str, str]:
    """Return the shop (account number and name: two shops of one name stay two) each opened meter belongs to."""
    rows = await session.execute(
        select(MeterRow.entity_id, MeterRow.account_id, AccountRow.name)
        .join(AccountRow, AccountRow.id == MeterRow.account_id))
    return {entity_id: f"{account_id} {name}" for entity_id, account_id, name in rows.all()}


async def _days(db: Database, ids: list[str], first_day: int, last_day: int,
                offset_s: int) -> dict[str, dict[int, Usage]]:
    """Return the rolled-up use and the charges of ``ids`` per meter and local day."""
    lo, hi = first_day * DAY_S - offset_s, (last_day + 1) * DAY_S - offset_s
    day = day_expr(db, TransactionRow.ts, offset_s)
    rate_columns = [getattr(EnergyDailyRow, f"{rate}_wh") for rate in RATES]
    days: dict[str, dict[int, Usage]] = defaultdict(lambda: defaultdict(Usage))
    async with db.session() as session:
        used = await session.execute(
            select(EnergyDailyRow.entity_id, EnergyDailyRow.day, EnergyDailyRow.use_wh, *rate_columns)
            .where(EnergyDailyRow.entity_id.in_(ids), EnergyDailyRow.day >= first_day,
                   EnergyDailyRow.day <= last_day))
        for entity_id, day_no, use_wh, *rates in used.all():
            days[entity_id][int(day_no)].add(int(use_wh), rates, 0)
        charged = await session.execute(
            select(TransactionRow.meter_entity_id, day, func.sum(TransactionRow.amount_fen))
            .where(TransactionRow.kind == KIND_CONSUMPTION, TransactionRow.meter_entity_id.in_(ids),
                   TransactionRow.ts >= lo, TransactionRow.ts < hi)
            .group_by(TransactionRow.meter_entity_id, day))
        for entity_id, day_no, fen in charged.all():
            days[str(entity_id)][int(day_no)].add(0, (), int(fen or 0))
    return days


async def energy_lines(
    db: Database, meters: list[ReportMeter], first_day: int, last_day: int, offset_s: int, period: str,
    size: int = 5000,
) -> AsyncIterator[list[Line]]:
    """Yield the report's lines in batches of about ``size`` meter-days: each meter's periods in order, a
    subtotal after each group and the grand total last."""
    step = max(1, size // (last_day - first_day + 1))
    subtotal, total = Usage(), Usage()
    for start in range(0, len(meters), step):
        chunk = meters[start:start + step]
        days = await _days(db, [m.entity_id for m in chunk], first_day, last_day, offset_s)
        lines: list[Line] = []
        for position, meter in enumerate(chunk, start):
            periods: dict[str, Usage] = {}
            for day_no, usage in sorted(days.get(meter.entity_id, {}).items()):
                periods.setdefault(period_key(day_date(day_no), period), Usage()).merge(usage)
            for label, usage in periods.items():
                lines.append(Line(LINE_ROW, meter.group, label, meter.entity_id, usage))
                subtotal.merge(usage)
                total.merge(usage)
            following = meters[position + 1] if position + 1 < len(meters) else None
            if following is None or following.group != meter.group:
                lines.append(Line(LINE_SUBTOTAL, meter.group, "", "", subtotal))
                subtotal = Usage()
        if lines:
            yield lines
    yield [Line(LINE_TOTAL, "", "", "", total)]


async def energy_summary(
    db: Database, meters: list[ReportMeter], first_day: int, last_day: int, offset_s: int,
) -> list[tuple[str, int, Usage]]:
    """Return each group's meter count and use over the whole range (two GROUP BY queries, for the page)."""
    lo, hi = first_day * DAY_S - offset_s, (last_day + 1) * DAY_S - offset_s
    rate_sums = [func.sum(getattr(EnergyDailyRow, f"{rate}_wh")) for rate in RATES]
    async with db.session() as session:
        used = await session.execute(
            select(EnergyDailyRow.entity_id, func.sum(EnergyDailyRow.use_wh), *rate_sums)
            .where(EnergyDailyRow.day >= first_day, EnergyDailyRow.day <= last_day)
            .group_by(EnergyDailyRow.entity_id))
        per_meter: dict[str, Usage] = defaultdict(Usage)
        for entity_id, use_wh, *rates in used.all():
            per_meter[entity_id].add(int(use_wh or 0), rates, 0)
        charged = await session.execute(
            select(TransactionRow.meter_entity_id, func.sum(TransactionRow.amount_fen))
            .where(TransactionRow.kind == KIND_CONSUMPTION, TransactionRow.meter_entity_id.is_not(None),
                   TransactionRow.ts >= lo, TransactionRow.ts < hi)
            .group_by(TransactionRow.meter_entity_id))
        for entity_id, fen in charged.all():
            per_meter[entity_id].add(0, (), int(fen or 0))
    groups: dict[str, tuple[list[int], Usage]] = {}
    for meter in meters:
        count, usage = groups.setdefault(meter.group, ([0], Usage()))
        count[0] += 1
        usage.merge(per_meter.get(meter.entity_id, Usage()))
    return [(name, count[0], usage) for name, (count, usage) in groups.items()]


def line_cells(line: Line, name_of: Callable[[str], str], labels: dict[str, str]) -> list[Any]:
    """Return a line's cells under the detail columns; ``labels`` names the subtotal and total lines."""
    if line.kind == LINE_ROW:
        head = [line.group, line.period, line.entity_id, name_of(line.entity_id)]
    elif line.kind == LINE_SUBTOTAL:
        head = [f"{line.group} {labels[LINE_SUBTOTAL]}", "", "", ""]
    else:
        head = [labels[LINE_TOTAL], "", "", ""]
    return head + line.usage.cells()


def detail_columns(group: str) -> list[str]:
    """Return the detail columns (message keys) when grouped by ``group``."""
    return [f"col_{group}", "col_period", "col_meter", "col_label", *USAGE_COLUMNS]

