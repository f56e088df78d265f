"""One way to write values for people, in both languages: money, energy, moments, enums and audited changes."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from web.format import Formatter

SHANGHAI = ZoneInfo("Asia/Shanghai")
MOMENT = 1_764_832_560  # 2025-12-04 07:16 UTC


def test_money_energy_and_moments_are_written_the_same_in_both_languages() -> None:
    for language in ("zh-CN", "en"):
        fmt = Formatter(language, SHANGHAI)
        assert (fmt.money(27330), fmt.money(-5), fmt.money(0), fmt.money(None)) == ("273.30", "-0.05", "0.00", "—")
        assert (fmt.energy(1_234_567), fmt.energy(0), fmt.energy(None)) == ("1234.57", "0.00", "—")
        assert (fmt.when(MOMENT), fmt.when(MOMENT, seconds=True), fmt.day(MOMENT)) == (
            "2025-12-04 15:16", "2025-12-04 15:16:00", "2025-12-04")
    assert Formatter("en", ZoneInfo("UTC")).when(MOMENT) == "2025-12-04 07:16"  # the site's zone, not the machine's


def test_enums_are_words_in_the_page_language() -> None:
    zh, en = Formatter("zh-CN", SHANGHAI), Formatter("en", SHANGHAI)
    assert [zh.attribute(k, v) for k, v in (("relay", "open"), ("relay", "closed"), ("online", False), ("blocked", True),
                                            ("prepaid_mode", "hold"))] == ["拉闸", "合闸", "失联", "是", "保电"]
    assert [en.attribute(k, v) for k, v in (("relay", "open"), ("online", True), ("blocked", False))] == [
        "tripped", "online", "no"]
    assert zh.enum("relay", "half") == "half" and zh.attribute("relay", None) == "—"  # unknown: as itself


def test_payment_methods_are_named_by_whoever_knows_them() -> None:
    names = {"cash": {"zh-CN": "现金", "en": "cash"}}
    fmt = Formatter("zh-CN", SHANGHAI, lambda method, language: names.get(method, {}).get(language, method))
    assert (fmt.method("cash"), fmt.attribute("method", "cash"), fmt.method("acmepay"), fmt.method(None)) == (
        "现金", "现金", "acmepay", "")


def test_a_change_is_written_as_name_before_arrow_after() -> None:
    zh = Formatter("zh-CN", SHANGHAI)
    assert zh.changes({"relay": "closed", "remaining_fen": 27330, "label": "a"},
                      {"relay": "open", "remaining_fen": 37330, "label": "a", "total_wh": 1500}) == [
        "继电器 合闸→拉闸", "剩余金额(元) 273.30→373.30", "总电能(kWh) —→1.50"]
    assert Formatter("en", SHANGHAI).changes({"relay": "closed"}, {"relay": "open"}) == ["Relay closed→tripped"]
    assert zh.changes(None, None) == []
