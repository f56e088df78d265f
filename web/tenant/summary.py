"""What the tenant's home says in one look: the state in words with what to do, the days the money lasts at the
last 7 days' use, today's and this month's kWh and cost, and the last 7 days' charges (one line a day, not one
per mirror of the meter's running use)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final

from .const import DAILY_DAYS
from .usage import daily_readings, daily_uses

if TYPE_CHECKING:
    from .site import TenantSite

AVERAGE_DAYS: Final = 7  # the days the estimate averages (full days before today)
STATE_ARREARS: Final = "arrears"
STATE_OFF: Final = "off"
STATE_LOW: Final = "low"
STATE_OK: Final = "ok"


def account_state(account: dict[str, Any]) -> str:
    """Return the account's state in one word: arrears (已欠费), off (已拉闸), low (余额不足) or ok (正常)."""
    meters = account["meters"]
    if any(m.get("status") == "arrears" for m in meters):
        return STATE_ARREARS
    if any(m.get("tripped") or m.get("relay") == "open" for m in meters):
        return STATE_OFF
    if any(m.get("status") in ("alarm1", "alarm2") for m in meters):
        return STATE_LOW
    return STATE_OK


def days_left(balance_fen: int, spent: dict[date, int], today: date) -> int | None:
    """Return the whole days the balance lasts at the last 7 full days' mean use (None: no use to go by)."""
    days = [today - timedelta(days=back) for back in range(1, AVERAGE_DAYS + 1)]
    mean = sum(spent.get(day, 0) for day in days) / AVERAGE_DAYS
    if mean <= 0:
        return None
    return max(0, int(balance_fen / mean))


async def home_summary(site: TenantSite, account: dict[str, Any]) -> dict[str, Any]:
    """Return the home page's summary of an account."""
    clock = site.core.clock
    today = clock.now().date()
    month_start = today.replace(day=1)
    since = min(month_start, today - timedelta(days=DAILY_DAYS))  # the 30-day chart's costs too
    since_ts = datetime.combine(since, time(), clock.time_zone).timestamp()
    spent = await site.billing.spent_by_day(account["id"], since_ts)
    today_wh = month_wh = last_month_wh = 0
    last_month_start = (month_start - timedelta(days=1)).replace(day=1)
    assert site.core.db is not None
    for meter in account["meters"]:
        readings = await daily_readings(site.core.db, clock, meter["entity_id"], last_month_start - timedelta(days=1))
        uses = daily_uses(readings)
        today_wh += uses.get(today, 0)
        month_wh += sum(used for day, used in uses.items() if day >= month_start)
        last_month_wh += sum(used for day, used in uses.items() if last_month_start <= day < month_start)
    return {
        "state": account_state(account),
        "days_left": days_left(int(account["balance_fen"]), spent, today),
        "today_kwh": today_wh / 1000, "month_kwh": month_wh / 1000, "last_month_kwh": last_month_wh / 1000,
        "today_fen": spent.get(today, 0),
        "month_fen": sum(fen for day, fen in spent.items() if day >= month_start),
        "recent": [(day, spent.get(day, 0)) for day in (today - timedelta(days=back) for back in range(AVERAGE_DAYS))],
        "since_ts": since_ts,  # the charts' costs start there too
    }
