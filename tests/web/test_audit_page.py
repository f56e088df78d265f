"""The audit log as an auditor reads it: actions, roles and meters by name, changes in words, filters, paging,
the filtered rows as Excel; the forced password change page shows the rule and no menu."""
from __future__ import annotations

import io
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from web.const import AUDIT_PAGE_SIZE

from .conftest import WebEnv

M1 = "acrel_dtsy1352.b1_f2_m1"


def rows_of(page: str) -> list[str]:
    """The text of each row of the audit table (tags dropped, the advanced details left out)."""
    body = page.split('<table id="audit"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr class=[^>]*>(.*?)</tr>", body, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<details.*?</details>", "", r, flags=re.S)))
            for r in rows]


@pytest.mark.timeout(90)
async def test_audit_page_reads_in_words_filters_pages_and_exports(start_web: Any) -> None:
    """A trip through the API reads as 遥控 with 预付费模式 预付费→强制拉闸 on the meter by name; filters narrow, pages hold
    AUDIT_PAGE_SIZE rows, and the export holds exactly the filtered rows."""
    env: WebEnv = await start_web(units=1)
    await env.operator("boss", "admin")
    token = await env.token("robot", "admin")
    async with env.client().post(env.base + "/api/services/acrel_dtsy1352/trip", json={"entity_id": M1},
                                 headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200, await resp.text()
    for _ in range(AUDIT_PAGE_SIZE + 5):  # enough language switches for a second page
        await env.site.audit.record("127.0.0.1", None, "language", "boss", before={"language": "en"},
                                    after={"language": "zh-CN"}, username="boss")
    client, _csrf = await env.login("boss")

    async with client.get(env.base + "/admin/audit?action=api:control%24") as resp:
        page = await resp.text()
    [trip] = rows_of(page)
    name = env.site.directory.display_name(M1)
    assert "接口调用：遥控" in trip and f"{name}: 预付费模式 预付费→强制拉闸" in trip, trip
    assert "管理员" in trip and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", trip), trip
    assert trip.count(name) == 2 and "/api/services" not in trip, "the target by name, the path only advanced"
    assert M1 not in trip and "prepaid_mode" not in trip and "forced_off" not in trip and "200" not in trip
    assert "成功" in trip
    assert M1 in page, "the raw record only in the advanced details"
    assert "<title>审计日志 · " in page

    async with client.get(env.base + "/admin/audit?operator=boss&action=language%24") as resp:
        page = await resp.text()
    first = rows_of(page)
    assert len(first) == AUDIT_PAGE_SIZE and all("切换语言" in r and "boss" in r for r in first)
    assert f"共 {AUDIT_PAGE_SIZE + 5} 条" in page and 'rel="next"' in page
    async with client.get(env.base + "/admin/audit?operator=boss&action=language%24&page=2") as resp:
        second = rows_of(await resp.text())
    assert len(second) == 5

    async with client.get(env.base + "/admin/audit?operator=boss&action=language%24&format=xlsx") as resp:
        assert resp.status == 200
        sheet = list(load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))
    assert sheet[0][:4] == ("时间", "操作员", "角色", "操作")
    assert len(sheet) - 1 == AUDIT_PAGE_SIZE + 5, "every filtered row, not one page of them"
    assert {row[3] for row in sheet[1:]} == {"切换语言"}


@pytest.mark.timeout(60)
async def test_forced_password_change_shows_the_rule_and_no_menu(start_web: Any) -> None:
    """The seeded admin must change its password: the page says the rule and offers no navigation."""
    env: WebEnv = await start_web()
    client, _csrf = await env.login("admin", "admin123")
    async with client.get(env.base + "/password") as resp:
        page = await resp.text()
    assert 'id="password-rule"' in page and "密码至少 8 位" in page
    assert "<nav>" not in page and 'href="/accounts"' not in page
    assert "<title>修改密码 · " in page


@pytest.mark.timeout(60)
async def test_settings_name_the_building_gateways_and_tariff(start_web: Any) -> None:
    """The settings page shows the building's name, the gateway's label (modbus label:) and the tariff in words;
    ids only in the advanced line."""
    env: WebEnv = await start_web(units=1, gateway={"label": "1号串口服务器"})
    await env.operator("boss", "admin")
    client, _csrf = await env.login("boss")
    async with client.get(env.base + "/admin/settings") as resp:
        page = await resp.text()
    assert "<h3>一号楼</h3>" in page and "单一电价" in page and "{'kind'" not in page and "{&#39;kind" not in page
    assert re.search(r"<td>1号串口服务器</td><td>在线</td><td class=\"advanced\">modbus.gateway_gw1</td>", page)
    assert re.search(r"<td>1号串口服务器</td><td>在线</td><td class=\"advanced\">modbus.bus_gw1</td>", page), \
        "a gateway's only line is called by the gateway's label"
    assert env.site.gateway_name("gw1") == env.site.gateway_name("modbus.gateway_gw1") == "1号串口服务器"


# What the f-string actions of web/ stand for (their {...} part), checked against the source below.
FORMED_ACTIONS = {
    'f"account_{action}"': ["account_close", "account_replace"],
    'f"operator_{action}"': ["operator_create", "operator_update", "operator_password", "operator_token",
                             "operator_revoke"],
    'f"api_refused:{needed}"': ["api_refused:control", "api_refused:audit", "api_refused:configure"],
    'f"api:{action}"': ["api:sell", "api:account", "api:control", "api:configure"],
    'f"meter:{self.service}"': ["meter:trip", "meter:close", "meter:hold", "meter:restore_prepaid",
                                "meter:push_tariff", "meter:push_settings"],
    'f"{action}_set"': ["tariff_set", "policy_set"],
    'f"load_{action}"': ["load_category", "load_plan", "load_run_confirm", "load_end"],
    'transaction["kind"]': ["sale", "refund"], "kind": ["sale", "refund"],
    "action": ["meter_category", "account_category"],  # web/views/load_limiting.py's _save_category
}


def test_every_recorded_action_has_a_name_in_both_languages() -> None:
    """Each action web/ records (grep ``audit.record(``) reads as words in zh-CN and en, not as its code."""
    from pathlib import Path  # noqa: PLC0415

    from web.audit import AuditReader  # noqa: PLC0415
    from web.format import Formatter  # noqa: PLC0415

    root = Path(__file__).resolve().parents[2] / "web"
    source = "\n".join(p.read_text(encoding="utf-8") for p in root.rglob("*.py"))
    found = re.findall(r"audit\.record\(\s*[^,]+,\s*[^,]+,\s*([^,]+),", source)
    actions: set[str] = set()
    for expression in found:
        expression = expression.strip()
        if re.fullmatch(r'"[^"{]+"', expression):
            actions.add(expression.strip('"'))
        else:
            assert expression in FORMED_ACTIONS, f"name the values of {expression} in FORMED_ACTIONS"
            actions.update(FORMED_ACTIONS[expression])
    assert len(actions) > 20
    for language in ("zh-CN", "en"):
        reader = AuditReader(Formatter(language, ZoneInfo("Asia/Shanghai")), str, lambda _e: False)
        unnamed = [a for a in sorted(actions) if reader.action(a) == a or "{" in reader.action(a)
                   or re.search(r"\b(?:control|sell|trip|restore_prepaid)\b", reader.action(a))
                   and language == "zh-CN"]
        assert not unnamed, (language, unnamed)
