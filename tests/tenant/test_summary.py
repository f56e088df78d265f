"""The tenant home's one-look summary: the state in words and the days the money lasts."""
from __future__ import annotations

from datetime import date, timedelta

from web.tenant.summary import account_state, days_left

TODAY = date(2026, 12, 5)


def test_state_in_words_worst_first() -> None:
    """Arrears outrank a switched-off meter, which outranks a low balance; otherwise all is well."""
    ok = {"status": "opened", "relay": "closed", "tripped": False}
    assert account_state({"meters": [ok]}) == "ok"
    assert account_state({"meters": [ok, {**ok, "status": "alarm2"}]}) == "low"
    assert account_state({"meters": [{**ok, "status": "alarm1"}, {**ok, "relay": "open"}]}) == "off"
    assert account_state({"meters": [{**ok, "tripped": True}, {**ok, "status": "arrears"}]}) == "arrears"


def test_days_left_at_the_last_seven_days() -> None:
    """The mean of the 7 full days before today (a day without use counts as 0); today's partial day is left
    out; no use: no estimate; arrears last 0 days."""
    spent = {TODAY - timedelta(days=n): 700 for n in range(1, 8)}
    assert days_left(10_000, {**spent, TODAY: 99_999}, TODAY) == 14
    assert days_left(10_000, {TODAY - timedelta(days=1): 700}, TODAY) == 100
    assert days_left(10_000, {}, TODAY) is None
    assert days_left(-500, spent, TODAY) == 0
