"""/metrics: open to this machine, to an operator's bearer token from elsewhere; real figures; the dashboard's
metric names all exist."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.helpers import sample, sample_names, scrape, scrape_text

from .conftest import PASSWORD, WebEnv

pytestmark = pytest.mark.timeout(60)

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-openprepay.json"
METER = "acrel_dtsy1352.b1_f2_m1"
REMOTE = {"X-Forwarded-For": "203.0.113.9"}  # a client beyond this machine, through the trusted proxy


async def _status(env: WebEnv, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as client, client.get(f"{env.base}/metrics", headers=headers) as resp:
        return resp.status, resp.headers.get("WWW-Authenticate", "")


async def test_metrics_beyond_this_machine_need_a_reports_token(start_web: Any) -> None:
    """Behind a proxy on this machine (a trusted one), a client gets 401 without a token or with an unknown one,
    403 with an operator kept to a building, the metrics with a viewer's token; so does the proxy itself,
    which may be forwarding anyone's request without saying so."""
    env: WebEnv = await start_web(http={"trusted_proxies": ["127.0.0.0/8"]})
    assert await _status(env, REMOTE) == (401, "Bearer")
    assert await _status(env, {}) == (401, "Bearer")
    viewer = {"Authorization": f"Bearer {await env.token('prom', 'viewer')}"}
    assert sample(await scrape(env.base, {**REMOTE, **viewer}), "openprepay_deliveries_pending") == 0
    assert (await _status(env, viewer))[0] == 200
    assert (await _status(env, {**REMOTE, "Authorization": "Bearer not-a-token"}))[0] == 401
    kept = await env.site.auth.create_operator("kept", "kept", "viewer", PASSWORD, must_change=False,
                                               buildings=["b1"])
    _, kept_token = await env.site.auth.create_token(kept["id"], "test")
    assert (await _status(env, {**REMOTE, "Authorization": f"Bearer {kept_token}"}))[0] == 403


async def test_a_sale_counts_and_the_dashboard_names_real_metrics(start_web: Any) -> None:
    """After a cash sale the sales counters hold it and nothing waits for the meter; an SMS with no modem to send
    it waits in the outbox; every metric the Grafana dashboard queries is in the output of a running site."""
    env: WebEnv = await start_web(units=1, extra={"notify": {}})
    admin = {"Authorization": f"Bearer {await env.token('boss', 'admin')}"}
    before = await scrape(env.base)
    assert sample(before, "openprepay_sales_total", method="cash") is None
    async with aiohttp.ClientSession(headers=admin) as client:
        async with client.post(f"{env.base}/api/billing/accounts", json={"name": "A", "meters": [METER]}) as resp:
            assert resp.status == 200, await resp.text()
        sale = {"meter_entity_id": METER, "amount_fen": 1234, "method": "cash", "idempotency_key": "m1"}
        async with client.post(f"{env.base}/api/billing/sales", json=sale) as resp:
            assert resp.status == 200, await resp.text()
    await env.core.services.async_call("notify", "sms", {"target": ["10086"], "message": "余额不足"})
    after = await scrape(env.base)
    assert sample(after, "openprepay_notify_outbox_pending", channel="sms") == 1
    assert sample(after, "openprepay_notify_outbox_pending", channel="email") == 0
    assert sample(after, "openprepay_sales_total", method="cash") == 1
    assert sample(after, "openprepay_sales_fen_total", method="cash") == 1234
    assert sample(after, "openprepay_deliveries_pending") == 0

    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["schemaVersion"] >= 36 and dashboard["__inputs"][0]["pluginId"] == "prometheus"
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    queries += [v["definition"] for v in dashboard["templating"]["list"]]
    used = {name for query in queries for name in re.findall(r"\bopenprepay_[a-z_]+", query)}
    exposed = sample_names(await scrape_text(env.base))
    assert len(used) > 20 and used <= exposed, sorted(used - exposed)
