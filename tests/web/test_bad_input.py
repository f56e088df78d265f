"""Hostile path, query, form and body values answer 400/404 with a message on every route, never 500."""
from __future__ import annotations

import asyncio
import logging
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from integrations.alipay.keys import ensure_keys

from tests.alipay.harness import tenant_client

from .conftest import WebEnv

pytestmark = pytest.mark.timeout(180)

M1 = "acrel_dtsy1352.b1_f2_m1"
HUGE = 2**63  # one above the largest integer a database column holds
IDS = (str(HUGE), "9" * 40, "\u0661", "\u00b2", "1_0")  # huge, Arabic-Indic one, superscript two, underscore
TIMES = ("abc", "nan", "inf", "-1", "1e400", "\u0661")


async def start(start_web: Any, tmp_path: Path) -> WebEnv:
    """Billing, the dashboard, notify, automations, one meter and Alipay (its tenant pages), tenant 1 provisioned."""
    keys = ensure_keys(tmp_path / "keys")
    env: WebEnv = await start_web(units=1, extra={
        "notify": {},
        "automation": [{"id": "a1", "trigger": {"platform": "event", "event_type": "x"}, "action": []}],
        "alipay": {"sandbox": {"port": 0, "keys_dir": str(keys)}, "query_interval": 3600,
                   "tenants": [{"meter": M1, "name": "商铺一", "password": "tenant-pass-1"}]},
    })
    async with asyncio.timeout(20):  # the tenant is provisioned once the core has started
        while not (accounts := await env.site.billing.accounts()) or not await env.core.data["tenant"].auth.credentials(
                accounts[0]["id"]):
            await asyncio.sleep(0.05)
    return env


def api_cases() -> list[tuple[str, str, Any, int]]:
    """Return (method, path, JSON body, expected status) of hostile API requests."""
    cases: list[tuple[str, str, Any, int]] = []
    for value in IDS:
        cases += [
            ("GET", f"/api/billing/accounts/{value}", None, 404),
            ("GET", f"/api/billing/accounts/{value}/history", None, 404),
            ("GET", f"/api/billing/accounts/{value}/credit", None, 404),
            ("PUT", f"/api/billing/accounts/{value}/credit", {"overdraft_fen": 100}, 404),
            ("POST", f"/api/billing/accounts/{value}/close", {"idempotency_key": "k"}, 404),
            ("POST", f"/api/billing/accounts/{value}/payments",
             {"amount_fen": 100, "method": "cash", "idempotency_key": "k"}, 404),
            ("GET", f"/api/billing/transactions/{value}", None, 404),
            ("POST", f"/api/billing/transactions/{value}/reverse", {"reason": "x", "idempotency_key": "k"}, 404),
            ("GET", f"/api/field/commands/{value}", None, 404),
            ("GET", f"/api/field/batches/{value}", None, 404),
            ("GET", f"/api/billing/accounts/{value}/topup_rule", None, 404),
            ("PUT", f"/api/billing/accounts/{value}/topup_rule", {"rule": "lowest"}, 404),
        ]
    for value in TIMES:
        cases += [("GET", f"/api/billing/alarms?since={value}", None, 400),
                  ("GET", f"/api/alarms?since={value}", None, 400), ("GET", f"/api/alarms?until={value}", None, 400)]
    for query in (f"limit={HUGE}", "limit=0", "limit=-1", "channel=fax", "status=lost"):
        cases.append(("GET", f"/api/notify/outbox?{query}", None, 400))
    for query in (f"account_id={HUGE}", "account_id=abc", "", f"account_id=1&limit={HUGE}"):
        cases.append(("GET", f"/api/alipay/orders?{query}", None, 400))
    cases += [
        ("GET", f"/api/alipay/security_events?limit={HUGE}", None, 400),
        ("GET", "/api/alarms?active=maybe", None, 400),
        ("GET", "/api/billing/accounts?status=gone", None, 400),
        ("POST", f"/api/billing/meters/{M1}/move", {"account_id": HUGE}, 400),
        ("POST", f"/api/billing/meters/{M1}/move", {"account_id": True}, 400),
        ("POST", "/api/billing/sales", {"meter_entity_id": M1, "amount_fen": HUGE, "idempotency_key": "k"}, 400),
        ("POST", "/api/billing/sales", {"meter_entity_id": M1, "amount_fen": True, "idempotency_key": "k"}, 400),
        ("POST", "/api/billing/accounts", {"name": "x", "meters": [M1], "overdraft_fen": HUGE}, 400),
        ("PUT", f"/api/billing/meters/{M1}/credit", {"credit_cap_fen": HUGE}, 400),
        ("PUT", f"/api/billing/meters/{M1}/thresholds", {"alarm1_fen": HUGE}, 400),
        ("PUT", f"/api/billing/meters/{M1}/thresholds", {"alarm2_fen": -1}, 400),
        ("PUT", f"/api/billing/meters/{M1}/thresholds", {"overload_w": "\uff11\uff10"}, 400),  # full-width 10
        ("PUT", f"/api/billing/meters/{M1}/thresholds", {"overload_w": True}, 400),
        ("GET", "/api/billing/meters/acrel_dtsy1352.\u7535/thresholds", None, 404),
        ("PUT", "/api/billing/accounts/1/topup_rule", {"rule": "shares", "shares": {M1: HUGE}}, 400),
        ("PUT", "/api/billing/accounts/1/topup_rule", {"rule": "shares", "shares": {"电表\u0000": 100}}, 400),
        ("PUT", "/api/billing/accounts/1/topup_rule", {"rule": "最低"}, 400),
        ("POST", "/api/services/alipay/set_tenant_login", {"account_id": HUGE, "password": "123456"}, 400),
        ("POST", "/api/services/alipay/create_order", {"account_id": HUGE, "amount_fen": 100}, 400),
        ("POST", "/api/services/billing/sell",
         {"meter_entity_id": M1, "amount_fen": HUGE, "idempotency_key": "k"}, 400),
        ("POST", "/api/services/notify/sms", {"target": {"account_id": HUGE}, "message": "x"}, 400),
        ("POST", "/api/services/notify/sms", {"target": "\u0661\u0662\u0663\u0664\u0665", "message": "x"}, 400),
        # Text no database stores (PostgreSQL refuses NUL): nothing by that name, or a refused body.
        ("GET", "/api/billing/meters/acrel_dtsy1352.m%00", None, 404),
        ("GET", "/api/billing/meters/acrel_dtsy1352.m%00/credit", None, 404),
        ("GET", "/api/billing/meters/Acrel.M1\n/credit", None, 404),
        ("GET", "/api/billing/alarms?meter_entity_id=m%00", None, 400),
        ("GET", "/api/billing/tariffs?scope=meter:%00", None, 400),
        ("GET", "/api/states/acrel_dtsy1352.m%00", None, 404),
        ("POST", "/api/billing/accounts", {"name": "商铺\u0000", "meters": [M1]}, 400),
        ("POST", "/api/billing/sales", {"meter_entity_id": M1, "amount_fen": 1, "idempotency_key": "k\ud800"}, 400),
        ("POST", "/api/billing/tariffs", {"scope": "building:b1", "spec": {"kind": "flat", "price": "1.00"},
                                          "effective_ts": "nan"}, 400),
    ]
    return cases


async def test_hostile_api_values_answer_4xx(start_web: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Ids beyond 2**63-1 or in other digits, times that are no numbers, unknown choices: 400/404 with a message."""
    env = await start(start_web, tmp_path)
    token = await env.token("fuzzer", "admin")
    client = env.client()
    headers = {"Authorization": f"Bearer {token}"}
    wrong = []
    for method, path, body, status in api_cases():
        async with client.request(method, env.base + path, json=body, headers=headers) as resp:
            answer = await resp.json(content_type=None) if resp.status != 404 or "json" in resp.content_type else {}
            if resp.status != status or (resp.status == 400 and not answer.get("error")):
                wrong.append((method, path, body, resp.status, answer))
    assert not wrong
    reader, writer = await asyncio.open_connection("127.0.0.1", env.core.http.port)
    writer.write(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Probe: a\x00b\r\n\r\n")  # a header no parser accepts
    assert (await reader.readline()).split()[1] == b"400"
    writer.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_hostile_page_values_answer_4xx(start_web: Any, tmp_path: Path) -> None:
    """Staff pages, tenant phone pages and the kiosk refuse hostile ids without an error page."""
    env = await start(start_web, tmp_path)
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    for value in IDS:
        for path in (f"/accounts/{value}", f"/transactions/{value}", f"/receipts/{value}.pdf"):
            async with client.get(env.base + path) as resp:
                assert resp.status == 404, (path, resp.status)
        for path, form in ((f"/accounts/{value}/credit", {"overdraft": "1"}), (f"/accounts/{value}/close", {}),
                           (f"/transactions/{value}/reverse", {"reason": "x"})):
            async with client.post(env.base + path, data={"csrf": csrf, "key": "k", **form},
                                   allow_redirects=False) as resp:
                assert resp.status == 404, (path, resp.status)
        for action in ("update", "password", "token", "revoke"):
            async with client.post(env.base + "/admin/operators", data={
                    "csrf": csrf, "action": action, "id": value, "role": "viewer", "password": "x" * 12}) as resp:
                assert resp.status == 400, (action, value, resp.status)
    for query in ("start=abc", "end=9999-99-99", f"start={HUGE}"):
        async with client.get(env.base + f"/reports?kind=sales&{query}") as resp:
            assert resp.status == 400, (query, resp.status)

    tenant = tenant_client(env.base)
    env.sessions.append(tenant)
    for value in IDS:
        async with tenant.post(env.base + "/m/login", data={"account_id": value, "password": "tenant-pass-1"}) as resp:
            assert resp.status == 401, (value, resp.status)
        async with tenant.post(env.base + "/kiosk/select", data={"shop": value, "by": "account"},
                               allow_redirects=False) as resp:
            assert resp.status == 302 and "error" in resp.headers["Location"], (value, resp.status)
    for body in (b"account_id=\xff&password=x", b"account_id=1&password=%00"):
        async with tenant.post(env.base + "/m/login", data=body,
                               headers={"Content-Type": "application/x-www-form-urlencoded"}) as resp:
            assert resp.status == 400, (body, resp.status)
    async with tenant.post(env.base + "/m/login/code/send", data={"phone": "138\x00"}) as resp:
        assert resp.status == 400
    account_id = (await env.site.billing.accounts())[0]["id"]
    async with tenant.post(env.base + "/m/login", data={"account_id": str(account_id), "password": "tenant-pass-1"}) as resp:
        assert resp.status == 200 and "/m/home" in str(resp.url)
    for value in IDS:
        async with tenant.get(env.base + f"/m/receipts/{value}.pdf") as resp:
            assert resp.status == 403, (value, resp.status)
    for path in ("/m/orders/x%00", "/m/topup/return?out_trade_no=x%00", "/kiosk/pay/x%00"):
        async with tenant.get(env.base + path, allow_redirects=False) as resp:
            assert resp.status in (400, 404), (path, resp.status)


# Bounded so the run stays well under a minute on a busy 2-core machine: the coverage phase sends each operation's
# boundary values (huge and negative integers, empty and odd strings, missing fields), fuzzing a few random cases.
# One worker: with two, hypothesis describes its filters with ast.parse in both threads at once, which CPython 3.11
# does not survive ("AST constructor recursion depth mismatch", seen here as a failed run with no server error).
FUZZ_ARGS = ("--checks", "not_a_server_error", "--phases", "examples,coverage,fuzzing", "--max-examples", "5",
             "--seed", "11", "--workers", "1", "--request-timeout", "20", "--no-color")


@pytest.mark.parametrize("db_kind", ["sqlite"])  # the document and the edge checks do not depend on the database
async def test_api_fuzzer_finds_no_server_error(start_web: Any, tmp_path: Path) -> None:
    """Schemathesis, driven by our own OpenAPI document with an admin token, gets no 5xx from any operation."""
    env = await start(start_web, tmp_path)
    token = await env.token("fuzzer", "admin")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "schemathesis.cli", "run", f"{env.base}/api/openapi.json",
        "--header", f"Authorization: Bearer {token}", *FUZZ_ARGS,
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output = (await process.communicate())[0].decode(errors="replace")
    assert process.returncode == 0, output[-8000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    tested = re.search(r"Tested: (\d+)", output)
    assert selected and tested, output[-3000:]
    assert int(tested.group(1)) == int(selected.group(1)) == int(selected.group(2)) > 60, output[-3000:]
