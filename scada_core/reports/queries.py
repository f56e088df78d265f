"""Report queries. Column names are message keys; the web layer translates them (same keys in Excel)."""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import String, case, cast, func, select

from scada_core.billing.const import METHOD_WALLET
from scada_core.billing.models import AccountRow, TransactionRow
from scada_core.billing.search import in_buildings
from scada_core.storage.database import Database
from scada_core.storage.models import ReadingRow

from .models import EnergyDailyRow
from .rollup import DAY_S, date_day, day_expr
from .table import Table, yuan

SALES_GROUPS = ("operator", "method", "building", "shop")
PERIODS = ("day", "month", "year")
# Money received and paid out. Transfers (wallet to meter and back) move money already received: never revenue,
# nor are the "sales" from the wallet that older versions posted.
SALE_KINDS = ("sale", "refund", "reversal", "close")


def natural_key(text: str) -> list[Any]:
    """Sort '2F' before '10F'."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]


def period_key(value: date, period: str) -> str:
    """Return the label of the day/month/year that holds ``value``."""
    if period == "year":
        return f"{value.year}"
    if period == "month":
        return f"{value.year}-{value.month:02d}"
    return value.isoformat()


def day_bounds(start: date, end: date, offset_s: int) -> tuple[float, float]:
    """Return [start 00:00, end+1 00:00) local as POSIX seconds."""
    return date_day(start) * DAY_S - offset_s, (date_day(end) + 1) * DAY_S - offset_s


async def sales_table(
    db: Database, tz: tzinfo, offset_s: int, start: date, end: date, period: str, group: str,
    buildings: frozenset[str] | None = None,
) -> Table:
    """Sales, refunds, reversals and close-outs per period and operator/method/building/shop (yuan), of
    ``buildings`` (None: all); transfers between a wallet and a meter move money already received and are never
    counted."""
    lo, hi = day_bounds(start, end, offset_s)
    kept = () if buildings is None else (in_buildings(buildings),)
    column = {"operator": TransactionRow.operator_id, "method": TransactionRow.method,
              "building": TransactionRow.building,
              # a shop by its account number and name (two shops of one name stay two rows)
              "shop": cast(TransactionRow.account_id, String) + " " + AccountRow.name}[group]
    async with db.session() as session:
        rows = (
            await session.execute(
                select(TransactionRow.ts, column, TransactionRow.kind, TransactionRow.amount_fen)
                .outerjoin(AccountRow, AccountRow.id == TransactionRow.account_id)
                .where(TransactionRow.ts >= lo, TransactionRow.ts < hi, TransactionRow.kind.in_(SALE_KINDS),
                       TransactionRow.method.is_distinct_from(METHOD_WALLET), *kept)
                .order_by(TransactionRow.ts)
            )
        ).all()
    buckets: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for ts, key, kind, amount in rows:
        bucket = buckets[(period_key(datetime.fromtimestamp(ts, tz).date(), period), key or "—")]
        bucket[kind] += abs(int(amount))
        bucket["count"] += 1
    table = Table(
        "sales",
        ["col_period", f"col_{group}", "col_count", "col_sales", "col_refunds", "col_reversals", "col_closes", "col_net"],
    )
    for (label, key), b in sorted(buckets.items()):
        net = b["sale"] - b["refund"] - b["reversal"] - b["close"]
        table.rows.append([label, key, b["count"], yuan(b["sale"]), yuan(b["refund"]), yuan(b["reversal"]),
                           yuan(b["close"]), yuan(net)])
    table.add_totals("col_total", 2)
    return table


async def energy_per_meter(db: Database, first_day: int, last_day: int) -> dict[str, int]:
    """Return Wh used per meter over [first_day, last_day] from the daily rollups."""
    async with db.session() as session:
        rows = await session.execute(
            select(EnergyDailyRow.entity_id, func.sum(EnergyDailyRow.use_wh))
            .where(EnergyDailyRow.day >= first_day, EnergyDailyRow.day <= last_day)
            .group_by(EnergyDailyRow.entity_id)
        )
        return {e: int(v or 0) for e, v in rows.all()}


async def energy_per_meter_raw(db: Database, lo: float, hi: float) -> dict[str, int]:
    """Return Wh used per meter in [lo, hi) by one GROUP BY over the raw readings (the slow baseline)."""
    async with db.session() as session:
        rows = await session.execute(
            select(ReadingRow.entity_id, func.max(ReadingRow.total_wh) - func.min(ReadingRow.total_wh))
            .where(ReadingRow.ts >= lo, ReadingRow.ts < hi)
            .group_by(ReadingRow.entity_id)
        )
        return {e: int(v or 0) for e, v in rows.all()}


async def energy_per_day(
    db: Database, first_day: int, last_day: int, entity_ids: list[str] | None = None
) -> dict[int, int]:
    """Return Wh used by all meters (or those of ``entity_ids``) per day number (for the chart)."""
    kept = () if entity_ids is None else (EnergyDailyRow.entity_id.in_(entity_ids),)
    async with db.session() as session:
        rows = await session.execute(
            select(EnergyDailyRow.day, func.sum(EnergyDailyRow.use_wh))
            .where(EnergyDailyRow.day >= first_day, EnergyDailyRow.day <= last_day, *kept)
            .group_by(EnergyDailyRow.day)
        )
        return {int(d): int(v or 0) for d, v in rows.all()}


async def net_sales_per_day(
    db: Database, first_day: int, last_day: int, offset_s: int, buildings: frozenset[str] | None = None
) -> dict[int, int]:
    """Return the fen taken per local day number (sales less refunds, reversals and close-outs; no transfers), in
    ``buildings`` (None: all)."""
    lo, hi = first_day * DAY_S - offset_s, (last_day + 1) * DAY_S - offset_s
    day = day_expr(db, TransactionRow.ts, offset_s)
    signed = case((TransactionRow.kind == "sale", func.abs(TransactionRow.amount_fen)),
                  else_=-func.abs(TransactionRow.amount_fen))
    kept = () if buildings is None else (in_buildings(buildings),)
    async with db.session() as session:
        rows = await session.execute(
            select(day, func.sum(signed))
            .outerjoin(AccountRow, AccountRow.id == TransactionRow.account_id)
            .where(TransactionRow.ts >= lo, TransactionRow.ts < hi, TransactionRow.kind.in_(SALE_KINDS),
                   TransactionRow.method.is_distinct_from(METHOD_WALLET), *kept)
            .group_by(day)
        )
        return {int(d): int(v or 0) for d, v in rows.all()}


def local_time(ts: float | None, tz: tzinfo) -> str:
    """Return POSIX seconds as local 'YYYY-MM-DD HH:MM:SS' ('' when unknown)."""
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def alarms_table(alarms: list[dict[str, Any]], tz: tzinfo, labels: dict[str, str]) -> Table:
    """Alarm history rows (newest first) from billing.alarms()."""
    table = Table("alarms", ["col_time", "col_meter", "col_account", "col_level", "col_phase", "col_money",
                             "col_reason"])
    for alarm in alarms:
        table.rows.append([
            local_time(alarm["ts"], tz), alarm["meter_entity_id"],
            alarm.get("account_id") or "", labels.get(alarm["level"], alarm["level"]),
            labels.get(alarm["phase"], alarm["phase"]), yuan(alarm.get("value_fen")),
            alarm.get("reason") or "",
        ])
    return table


async def last_received(db: Database, entity_ids: list[str]) -> dict[str, float]:
    """Return when each meter's newest recorded reading arrived (meters without one are left out)."""
    if not entity_ids:
        return {}
    async with db.session() as session:
        rows = await session.execute(
            select(ReadingRow.entity_id, func.max(ReadingRow.received_ts))
            .where(ReadingRow.entity_id.in_(entity_ids))
            .group_by(ReadingRow.entity_id)
        )
        return {e: float(ts) for e, ts in rows.all() if ts is not None}


def alarm_detail(alarm: dict[str, Any]) -> str:
    """Return what an alarm in force is about: a tamper's reason, an overload's power, a level's money."""
    if alarm.get("reason"):
        return str(alarm["reason"])
    if alarm["level"] == "overload":
        return f"{alarm['power_w']} W" if alarm.get("power_w") is not None else ""
    if alarm["level"] == "offline":
        return ""
    return yuan(alarm.get("remaining_fen"))


def alarms_now_table(
    alarms: list[dict[str, Any]], tz: tzinfo, labels: dict[str, str], meters: dict[str, tuple[str, str]]
) -> Table:
    """Alarms in force (billing.active_alarms()); ``meters`` gives each meter's (label, account) to show."""
    columns = ["col_meter", "col_label", "col_account", "col_level", "col_since", "col_detail"]
    table = Table("alarms_now", columns)
    for alarm in alarms:
        entity_id = alarm["meter_entity_id"]
        label, account = meters.get(entity_id, ("", str(alarm.get("account_id") or "")))
        table.rows.append([entity_id, label, account, labels.get(alarm["level"], alarm["level"]),
                           local_time(alarm.get("since"), tz), alarm_detail(alarm)])
    return table


def offline_table(devices: list[dict[str, Any]], tz: tzinfo, labels: dict[str, str]) -> Table:
    """Offline meters and gateways: entity, kind, gateway/bus, last seen; ``labels`` names each kind and says
    ``never`` for a device never seen, in the reader's language."""
    table = Table("offline", ["col_entity", "col_kind", "col_gateway", "col_last_seen"])
    for device in devices:
        last = device.get("last_seen")
        table.rows.append([
            device["entity_id"], labels.get(device["kind"], device["kind"]), device.get("gateway") or "",
            datetime.fromtimestamp(last, tz).strftime("%Y-%m-%d %H:%M:%S") if last else labels["never"],
        ])
    return table
