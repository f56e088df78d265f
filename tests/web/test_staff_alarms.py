"""Tamper, overload and offline are staff alarms: 实时报警 and 报警记录, the demo's default automation e-mails staff
(aiosmtpd), and an admin resolves a tamper block from the meter page (DTSY1352 simulator)."""
from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from aiosmtpd.controller import Controller

from scada_core.automation.const import EVENT_TIME_CHANGED
from scada_core.bootstrap import async_from_config_dir
from tests.helpers import free_port, wait_for
from tests.notify.test_email import Mailbox, _authenticate, _email_config

from .conftest import WebEnv

pytestmark = pytest.mark.timeout(90)

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo"
M1, M2 = "acrel_dtsy1352.b1_f2_m1", "acrel_dtsy1352.b1_f2_m2"
ADMIN = {"id": "boss", "role": "admin"}
TZ = ZoneInfo("Asia/Shanghai")
# A meter that stops answering is unavailable within about a second (not the default 4.5 s): these tests silence
# meters several times, and what they assert runs on the core's frozen clock, not on the gateway's timing.
FAST_GATEWAY = {"timeout": 0.15, "retries": 0, "status_interval": 0.3, "offline_after": 2}


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, int]]:
    """A real SMTP server on loopback and what it received."""
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=_authenticate,
                            auth_require_tls=False)
    await asyncio.to_thread(controller.start)
    yield box, port
    await asyncio.to_thread(controller.stop)


async def start(start_web: Any, tmp_path: Path, smtp_port: int, meter: str, fen: int) -> WebEnv:
    """Two simulated meters, billing (overload 3000 W), the demo's automations and e-mail to the SMTP server;
    an account opened on ``meter`` with ``fen`` sold to it."""
    shutil.copytree(DEMO / "templates", tmp_path / "cfg0" / "templates")
    automations = yaml.safe_load((DEMO / "automations.yaml").read_text(encoding="utf-8"))
    billing = {"buildings": {"b1": {"name": "一号楼", "meters": ["*"], "tariff": {"kind": "flat", "price": "1.00"},
                                    "overload_w": 3000}},
               "reconcile_interval": 3600, "offline_after": 300}
    env = await start_web(units=2, gateway=FAST_GATEWAY, extra={"billing": billing, "automation": automations,
                                                                "notify": {"email": _email_config(smtp_port)}})
    await env.operator("boss", "admin")
    await env.operator("till", "cashier")
    await env.site.billing.open_account("王五", [meter], ADMIN)
    await env.site.billing.sell(meter, fen, "cash", "s-1", ADMIN)
    return env


def subjects(box: Mailbox) -> list[str]:
    """Return the subjects received so far."""
    return [str(m["Subject"]) for m in box.messages]


async def page(env: WebEnv, client: Any, path: str) -> str:
    """GET a page and return its text (200 expected)."""
    env.site.grid.invalidate()
    async with client.get(env.base + path) as resp:
        assert resp.status == 200, path
        return await resp.text()


def history_path(env: WebEnv) -> str:
    """Return the alarm history of today (the core's clock)."""
    today = env.core.clock.now().date().isoformat()
    return f"/reports?kind=alarms&start={today}&end={today}"


async def test_tamper_is_shown_notified_and_resolved_on_the_meter_page(
    start_web: Any, tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    env = await start(start_web, tmp_path, port, M1, 5000)
    billing = env.site.billing
    assert env.sim is not None
    meter = env.sim.meter(1)
    meter.purchase_count += 1  # sold with a card behind billing's back
    meter.remaining_fen += 3000
    await wait_for(lambda: "【测试大厦】购电次数异常：b1_f2_m1" in subjects(box), timeout=20, what="tamper e-mail")
    mail = next(m for m in box.messages if "购电次数异常" in str(m["Subject"]))
    assert "购电次数 3，应为 2" in mail.get_content() and mail["To"] == "ops@example.com"

    admin, csrf = await env.login("boss")
    now = await page(env, admin, "/reports?kind=alarms_now")
    assert M1 in now and "购电次数异常" in now and "购电次数 3，应为 2 / purchase count 3, expected 2" in now
    history = await page(env, admin, history_path(env))
    assert "购电次数异常" in history and "purchase count 3, expected 2" in history

    cashier, cashier_csrf = await env.login("till")
    assert 'id="resolve-tamper"' not in await page(env, cashier, f"/meters/{M1}")
    async with cashier.post(env.base + f"/meters/{M1}/resolve_tamper",
                            data={"csrf": cashier_csrf, "reason": "IC card"}) as resp:
        assert resp.status == 403
    assert (await billing.meter_status(M1))["blocked"]

    assert 'id="resolve-tamper"' in await page(env, admin, f"/meters/{M1}")
    async with admin.post(env.base + f"/meters/{M1}/resolve_tamper", data={"csrf": csrf, "reason": " "}) as resp:
        assert resp.status == 200 and "请填写原因" in await resp.text()
    env.sim.set_fault(1, silent=True)  # the meter cannot be read: the block stays, with a clear message
    async with admin.post(env.base + f"/meters/{M1}/resolve_tamper",
                          data={"csrf": csrf, "reason": "IC card"}) as resp:
        text = await resp.text()
        assert resp.status == 200 and "无法读取表计" in text and "锁定未解除" in text and "Traceback" not in text
    async with admin.post(env.base + "/language", data={"csrf": csrf, "language": "en"}) as resp:
        assert resp.status == 200
    async with admin.post(env.base + f"/meters/{M1}/resolve_tamper",
                          data={"csrf": csrf, "reason": "IC card"}) as resp:
        text = await resp.text()
        assert "could not be read" in text and "the block stays" in text and "Resolve the tamper block" in text
    assert (await billing.meter_status(M1))["blocked"]
    env.sim.clear_faults()
    await wait_for(lambda: env.core.states.get(M1).attributes.get("online") is True, timeout=20, what="m1 back")
    async with admin.post(env.base + f"/meters/{M1}/resolve_tamper",
                          data={"csrf": csrf, "reason": "物业用IC卡售电30元"}) as resp:
        assert resp.status == 200 and "error" not in str(resp.url)
    assert not (await billing.meter_status(M1))["blocked"]
    [audit] = [a for a in await env.site.audit.query(action="tamper_resolve") if a["ok"]]
    assert audit["operator"] == "boss" and audit["target"] == M1
    assert '"blocked": true' in audit["before"] and '"blocked": false' in audit["after"]
    assert "物业用IC卡售电30元" in audit["after"] and '"adjusted_fen": 3000' in audit["after"]

    await billing.sell(M1, 1000, "cash", "s-2", ADMIN)  # the meter takes sales again
    assert meter.purchase_count == 4 and meter.remaining_fen == 9000
    assert M1 not in await page(env, admin, "/reports?kind=alarms_now")
    history = await page(env, admin, history_path(env))
    assert "boss: 物业用IC卡售电30元" in history


async def test_overload_is_shown_and_notified(start_web: Any, tmp_path: Path, mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    env = await start(start_web, tmp_path, port, M2, 10000)
    phases: list[str] = []
    env.core.bus.async_listen("billing_alarm", lambda e: phases.append(e.data["phase"])
                              if e.data["level"] == "overload" else None)
    assert env.sim is not None
    env.sim.meter(2).recovery_time = 2  # s the meter keeps its relay open after an overload trip
    env.sim.meter(2).power_override_w = 4500
    await wait_for(lambda: "【测试大厦】过载告警：b1_f2_m2" in subjects(box), timeout=20, what="overload e-mail")
    # Billing pushed the building's 3000 W to the meter, whose own protection trips at once: the power it cut is
    # not known by the time it is read (0 W), so the notice says it tripped and names the limit.
    assert env.sim.meter(2).overload_w == 3000 and not env.sim.meter(2).relay_closed(env.core.clock.timestamp())
    mail = next(m for m in box.messages if "过载告警" in str(m["Subject"]))
    assert "过载保护已跳闸（限值 3000 W）" in mail.get_content() and " 0 W" not in mail.get_content()
    admin, _csrf = await env.login("boss")
    now = await page(env, admin, "/reports?kind=alarms_now")
    assert M2 in now and "过载" in now and "overload protection tripped, limit 3000 W" in now
    assert "过载" in await page(env, admin, history_path(env))

    env.sim.meter(2).power_override_w = 100
    await wait_for(lambda: phases == ["enter", "leave"], timeout=20, what="overload left")
    assert "过载" not in await page(env, admin, "/reports?kind=alarms_now")


async def tick(env: WebEnv, moment: datetime) -> None:
    """Freeze the core's clock at ``moment`` and fire time_changed."""
    env.core.clock.freeze(moment)
    env.core.bus.async_fire(EVENT_TIME_CHANGED, {"now": env.core.clock.now()})
    await asyncio.sleep(0)


def listen_offline(env: WebEnv) -> list[dict[str, Any]]:
    """Collect the offline crossings billing fires."""
    crossings: list[dict[str, Any]] = []
    env.core.bus.async_listen("billing_alarm", lambda e: crossings.append(dict(e.data))
                              if e.data["level"] == "offline" else None)
    return crossings


async def test_offline_enters_after_five_minutes_and_leaves_when_the_meter_answers(
    start_web: Any, tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> None:
    """No alarm for a short outage; one after offline_after; a restart neither repeats it nor raises one for a
    meter not read since (no start-up storm); it ends when the meter answers."""
    box, port = mailbox
    env = await start(start_web, tmp_path, port, M1, 10000)
    await env.site.billing.open_account("孙八", [M2], ADMIN)
    crossings = listen_offline(env)
    assert env.sim is not None
    await tick(env, datetime(2026, 3, 4, 10, 0, tzinfo=TZ))

    def state() -> Any:
        return env.core.states.get(M1)

    # A short outage (back before offline_after) raises nothing.
    env.sim.set_fault(1, silent=True)
    await wait_for(lambda: state().state == "unavailable", timeout=20, what="m1 unavailable")
    env.sim.clear_faults()
    await wait_for(lambda: state().attributes.get("online") is True, timeout=20, what="m1 back")
    await tick(env, datetime(2026, 3, 4, 10, 6, tzinfo=TZ))
    await asyncio.sleep(0.2)
    assert crossings == []

    env.sim.set_fault(1, silent=True)
    await wait_for(lambda: state().state == "unavailable", timeout=20, what="m1 unavailable")
    await tick(env, datetime(2026, 3, 4, 10, 10, tzinfo=TZ))
    await asyncio.sleep(0.2)
    assert crossings == []  # 4 minutes
    await tick(env, datetime(2026, 3, 4, 10, 11, tzinfo=TZ))
    await wait_for(lambda: len(crossings) == 1, what="offline alarm")
    await tick(env, datetime(2026, 3, 4, 10, 30, tzinfo=TZ))
    await wait_for(lambda: "【测试大厦】设备离线：b1_f2_m1" in subjects(box), timeout=20, what="offline e-mail")
    assert [(c["phase"], c["meter_entity_id"]) for c in crossings] == [("enter", M1)]

    admin, _csrf = await env.login("boss")
    now = await page(env, admin, "/reports?kind=alarms_now")
    assert M1 in now and "失联" in now and "2026-03-04 10:11:00" in now

    env.sim.set_fault(2, silent=True)
    await env.core.async_stop()
    env.core = await async_from_config_dir(tmp_path / "cfg0")
    env.base = f"http://127.0.0.1:{env.core.http.port}"
    crossings = listen_offline(env)
    await tick(env, datetime(2026, 3, 4, 10, 40, tzinfo=TZ))
    await wait_for(lambda: all(env.core.states.get(m).state == "unavailable" for m in (M1, M2)), timeout=20,
                   what="both unavailable after the restart")
    await tick(env, datetime(2026, 3, 4, 11, 0, tzinfo=TZ))
    await asyncio.sleep(0.2)
    assert crossings == []
    admin, _csrf = await env.login("boss")
    now = await page(env, admin, "/reports?kind=alarms_now")
    assert M1 in now and "2026-03-04 10:11:00" in now
    offline = [(a["meter_entity_id"], a["since"]) for a in await env.site.billing.active_alarms()
               if a["level"] == "offline"]
    assert offline == [(M1, datetime(2026, 3, 4, 10, 11, tzinfo=TZ).timestamp())]

    env.sim.clear_faults()
    await wait_for(lambda: len(crossings) == 1, timeout=20, what="offline left")
    assert [(c["phase"], c["meter_entity_id"]) for c in crossings] == [("leave", M1)]
    await wait_for(lambda: "【测试大厦】设备恢复通信：b1_f2_m1" in subjects(box), timeout=20, what="online e-mail")
    assert M1 not in await page(env, admin, "/reports?kind=alarms_now")
    history = await page(env, admin, "/reports?kind=alarms&start=2026-03-04&end=2026-03-04")
    assert history.count("失联") >= 2 and "进入" in history and "解除" in history
    stored = [a["phase"] for a in await env.site.billing.alarms(meter_entity_id=M1) if a["level"] == "offline"]
    assert stored == ["leave", "enter"]
