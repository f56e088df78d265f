"""The counter's confirmation shows the money before and after and the kWh it buys at the price now, and a sale
over the credit cap (囤积限值) is refused there, before 确认, with nothing moved."""
from __future__ import annotations

import re
from typing import Any

from .conftest import WebEnv

M1 = "acrel_dtsy1352.b1_f2_m1"
ADMIN = {"id": "boss", "role": "admin"}


def _cell(page: str, cell_id: str) -> str:
    """Return the text of the element with ``cell_id`` (tags stripped)."""
    found = re.search(rf'id="{cell_id}">(.*?)</td>', page, re.S)
    assert found is not None, cell_id
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


async def test_confirmation_shows_before_after_and_kwh_and_refuses_over_the_cap(start_web: Any) -> None:
    env: WebEnv = await start_web(units=1)  # the building's flat price: 1.00 yuan/kWh
    billing = env.site.billing
    await billing.open_account("张三商店", [M1], ADMIN)
    await billing.sell(M1, 27330, "cash", "c-0", ADMIN)
    await billing.set_meter_credit(M1, ADMIN, credit_cap_fen=50000)
    await env.operator("clerk", "cashier")
    client, csrf = await env.login("clerk")
    async with client.get(env.base + f"/sell?meter={M1}&kind=sale") as resp:
        form_page = await resp.text()
    assert 'data-value="100"' in form_page and 'data-value="500"' in form_page  # one-tap amounts

    form = {"csrf": csrf, "meter": M1, "kind": "sale", "amount": "100", "method": "cash", "key": "c-1"}
    async with client.post(env.base + "/sell", data=form) as resp:
        page = await resp.text()
    assert resp.status == 200
    assert (_cell(page, "balance-before"), _cell(page, "balance-after"), _cell(page, "kwh")) == (
        "273.30 元", "373.30 元", "100.00 kWh")

    async with client.post(env.base + "/sell", data={**form, "amount": "300", "key": "c-2"}) as resp:
        page = await resp.text()
    assert resp.status == 400 and 'id="confirm"' not in page  # refused at the confirmation step
    assert "超过囤积限值：购电后余额将为 573.30 元，上限 500.00 元" in page
    assert env.sim is not None and env.sim.meters[1].remaining_fen == 27330  # nothing moved

    async with client.post(env.base + "/sell", data={**form, "kind": "refund", "amount": "73.3", "key": "c-3"}) as resp:
        page = await resp.text()
    assert (_cell(page, "balance-after"), _cell(page, "kwh")) == ("200.00 元", "73.30 kWh")
