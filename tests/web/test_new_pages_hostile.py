"""The overview, meter, batch-history and counter pages take hostile query and form values with a clear answer:
huge, negative, non-ASCII and unknown values show the first page or a 4xx, never a 500 or a traceback."""
from __future__ import annotations

from typing import Any

from .conftest import WebEnv

M1 = "acrel_dtsy1352.b1_f2_m1"
HUGE = "9" * 40
ADMIN = {"id": "boss", "role": "admin"}


async def test_hostile_queries_and_forms_on_the_new_pages(start_web: Any) -> None:
    env: WebEnv = await start_web(units=1)
    await env.operator("boss", "admin")
    await env.operator("clerk", "cashier")
    client, csrf = await env.login("boss")
    for path in (f"/batches?page={HUGE}", "/batches?page=-3", "/batches?page=二", "/?tab=%3Cscript%3E&status=x",
                 f"/meters/{M1}?history=sales&page={HUGE}", f"/meters/{M1}?history=%00&period=数年&page=-1"):
        async with client.get(env.base + path) as resp:
            page = await resp.text()
        assert resp.status in (200, 400), (path, resp.status)
        assert "Traceback" not in page and "<script>" not in page, path
    for batch_id in (HUGE, "'; drop table field_batches; --", "批量", "x" * 5000):
        async with client.get(env.base + "/batches/" + batch_id) as resp:
            assert resp.status in (404, 414), batch_id
    for service, meter in (("explode", M1), ("trip", "acrel_dtsy1352.nonesuch"), ("trip", "../../admin")):
        async with client.post(env.base + f"/meters/{meter}/control", data={"csrf": csrf, "service": service},
                               allow_redirects=False) as resp:
            assert resp.status in (400, 404), (service, meter, resp.status)
    async with client.post(env.base + f"/meters/{M1}/control", data={"service": "trip"},
                           allow_redirects=False) as resp:
        assert resp.status == 403  # no CSRF token: refused
    clerk, clerk_csrf = await env.login("clerk")
    async with clerk.post(env.base + f"/meters/{M1}/control", data={"csrf": clerk_csrf, "service": "trip"},
                          allow_redirects=False) as resp:
        assert resp.status == 403  # a cashier does not control meters
    assert env.sim is not None and env.sim.meters[1].forced != "trip"
    await env.site.billing.open_account("张三", [M1], ADMIN)
    form = {"csrf": clerk_csrf, "meter": M1, "kind": "sale", "amount": "１００", "method": "cash", "key": "wide"}
    async with clerk.post(env.base + "/sell", data=form) as resp:  # full-width digits (a Chinese IME) read as 100
        assert resp.status == 200 and 'id="confirm-words">壹佰元整<' in await resp.text()
    for amount in (HUGE, "-5", "1e9", "0.001", "NaN", "Infinity", "12元"):
        form = {"csrf": clerk_csrf, "meter": M1, "kind": "sale", "amount": amount, "method": "cash", "key": amount}
        async with clerk.post(env.base + "/sell", data=form) as resp:
            assert resp.status == 400 and 'id="confirm"' not in await resp.text(), amount
    assert env.sim.meters[1].remaining_fen == 0  # nothing sold
