"""Demo data for the demo tower (``openprepay demo seed -c config/demo``, declared by this integration's manifest): most shops opened with realistic names,
60 days of readings, sales and consumption, a few shops in 报警1/报警2/欠费, one 失联 meter and one held (保电);
every meter a load category (用电性质) and two load-limiting plans (限电).

It runs in two phases so that every row is one the real code would have written:

1. **Opening, with the core running** (its clock set 60 days back): accounts are opened through billing on the
   simulated meters (the money found on each is booked as the Acrel system's balance when we took over), one
   meter is held through the relay service, as staff would.
2. **History, with the core stopped**: each shop's 60 days are simulated day by day (an office-day load, fewer
   on weekends; a refill of 200–1000 yuan by cash, Alipay or WeChat when the money runs low) and written as the
   ledger postings, deliveries and readings the running system writes, while the simulator's saved state gets
   the same money, purchase count and energy, so meters and books agree at the next start.

Who opens, their names, which shops end in alarm and the shape of every story come from one random seed (the
cents vary with what the running meters use during the seed's seconds); a second run finds its accounts and
changes nothing; a database with accounts the seed did not make is refused. Phase 1 runs the simulated lines
without their 9600-baud timing (15 s instead of 3 minutes); the demo itself keeps it. Data goes into the configuration's database and simulator state,
never into the repository.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import delete, insert, select

from scada_core.billing import ledger
from scada_core.billing.const import (
    ACCOUNT_REVENUE_ENERGY, DELIVERY_DELIVERED, KIND_CONSUMPTION, KIND_SALE, MODE_METER, OP_SELL, ROLE_SYSTEM,
)
from scada_core.billing.delivery import next_count, register_count
from scada_core.billing.models import AccountRow, DeliveryRow, MeterRow
from scada_core.billing.tariffs import RATES, price_now
from scada_core.bootstrap import async_setup_core, open_database
from scada_core.config import Configuration, load_config
from scada_core.const import ACTOR_STAFF
from scada_core.core import Context
from scada_core.exceptions import OpenPrepayError
from scada_core.storage.models import ReadingRow

from . import DOMAIN

_LOGGER = logging.getLogger(__name__)

SEED: Final = 2026
DAYS: Final = 60
KEY_PREFIX: Final = "demo-seed:"
KNOWN_KEYS: Final = (KEY_PREFIX, "tenant-provision:")  # accounts the demo itself opens
NOT_OPENED_EVERY: Final = 8  # every 8th shop stays 未开户
OPERATOR: Final = {"id": "admin", "role": "admin"}  # the demo's staff
ONLINE: Final = ledger.Operator("topup", ROLE_SYSTEM)
READING_STEP_S: Final = 3 * 3600
ONLINE_WAIT_S: Final = 180.0
SETTLE_QUIET_S: Final = 3.0
SETTLE_MAX_S: Final = 20.0
METHODS: Final = (("cash", 0.45), ("alipay", 0.35), ("wechat", 0.20))
AMOUNTS_YUAN: Final = (200, 300, 500, 500, 800, 1000)
# the end of the story: shops left in each level (remaining fen), the rest healthy
ALARM1_FEN: Final = 3500
ALARM2_FEN: Final = 1200
ARREARS_FEN: Final = -500
SHOP_KINDS: Final = ("面馆", "便利店", "文具店", "花店", "理发店", "药房", "奶茶店", "烘焙坊", "五金店", "眼镜店", "咖啡馆",
                     "水果店", "打印店", "律师事务所", "设计工作室", "培训中心", "牙科诊所", "茶行", "服装店", "电脑维修")
SHOP_NAMES: Final = ("老王", "美佳", "晨光", "鑫源", "福满", "金鼎", "宏达", "佳和", "小林", "阿香", "云朵", "星河", "安心",
                     "顺发", "绿叶", "明德", "优品", "一品", "好邻居", "初心")
# 用电性质 of the tower: room 12 of each floor is the corridor lighting, floors 2-3 restaurants, 4-6 shops, the rest
# offices; the held meter is an important load. Two load-limiting plans to run from 限电.
LIGHTING_ROOM: Final = "12"
CATERING_FLOORS: Final = range(2, 4)
RETAIL_FLOORS: Final = range(4, 7)
DEMO_PLANS: Final = (
    {"name": "迎峰度夏 餐饮零售限电", "categories": ["catering", "retail"], "action": "limit", "limit_w": 3000,
     "duration_s": 7200},
    {"name": "需求响应 公共照明拉闸", "categories": ["public_lighting"], "action": "trip", "duration_s": 3600},
)
# share of a day's energy in each TOU rate (sharp, peak, flat, valley): an office day
RATE_SHARE: Final = {"sharp": 0.12, "peak": 0.38, "flat": 0.30, "valley": 0.20}


class SeedRefused(OpenPrepayError):
    """The database holds accounts the seed did not make: it will not mix demo data into them."""


@dataclass
class ShopStory:
    """One shop's 60 days: the money found at opening, each day's energy and cost, its refills."""

    entity_id: str
    account_id: int
    building: str
    found_fen: int
    start_wh: int  # the meter's energy counter at opening
    daily_wh: list[int] = field(default_factory=list)
    daily_fen: list[int] = field(default_factory=list)
    sales: list[tuple[float, int, str]] = field(default_factory=list)  # (ts, fen, method)
    final_fen: int = 0


def shop_name(rng: random.Random, used: set[str]) -> str:
    """Return a shop name not given yet (老王面馆, 美佳便利店 …)."""
    while True:
        name = rng.choice(SHOP_NAMES) + rng.choice(SHOP_KINDS)
        if name not in used:
            used.add(name)
            return name


def plan_story(story: ShopStory, rng: random.Random, start: datetime, day_price: float, target: int | None) -> None:
    """Simulate a shop's days: energy by weekday, cost at the day's mean price, a refill when money runs low;
    ``target``: the money it must end with (an alarm level), the last day's use makes it so."""
    base_kwh = rng.uniform(8, 45)  # a small shop to a busy restaurant
    balance = story.found_fen
    refill_below = rng.choice((5000, 8000, 10000))
    for day in range(DAYS):
        moment = start + timedelta(days=day)
        weekend = moment.weekday() >= 5
        kwh = base_kwh * (0.55 if weekend else 1.0) * rng.uniform(0.8, 1.2)
        wh = int(kwh * 1000)
        fen = int(round(kwh * day_price * 100))
        if balance - fen < refill_below and (target is None or day < DAYS - 6):
            amount = rng.choice(AMOUNTS_YUAN) * 100
            method = rng.choices([m for m, _ in METHODS], [w for _, w in METHODS])[0]
            hour = rng.uniform(9, 19)
            story.sales.append(((moment + timedelta(hours=hour)).timestamp(), amount, method))
            balance += amount
        story.daily_wh.append(wh)
        story.daily_fen.append(fen)
        balance -= fen
    if target is not None and balance > target:
        story.daily_fen[-1] += balance - target
        balance = target
    story.final_fen = balance


def mean_price(spec: dict[str, Any], day: datetime) -> float:
    """Return a day's mean price (yuan/kWh) weighted by an office day's TOU shares."""
    prices = spec.get("prices")
    if isinstance(prices, dict):
        return sum(float(prices[rate]) * share for rate, share in RATE_SHARE.items())
    return float(price_now(spec, day) or 0)


async def _wait_online(core: Any, entity_ids: list[str]) -> None:
    """Wait until every meter has answered once."""
    deadline = asyncio.get_running_loop().time() + ONLINE_WAIT_S
    while True:
        waiting = [e for e in entity_ids if (s := core.states.get(e)) is None or s.attributes.get("online") is not True]
        if not waiting:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{len(waiting)} meters never answered, e.g. {waiting[0]}")
        await asyncio.sleep(0.5)


async def _settle(billing: Any) -> None:
    """Let what the start opens by itself (the configured demo tenant: account 1) open first: wait until the
    accounts stop changing for a while."""
    count, quiet_since = -1, asyncio.get_running_loop().time()
    deadline = quiet_since + SETTLE_MAX_S
    while (now := asyncio.get_running_loop().time()) < deadline:
        current = len(await billing.accounts())
        if current != count:
            count, quiet_since = current, now
        elif now - quiet_since >= SETTLE_QUIET_S:
            return
        await asyncio.sleep(0.25)


async def _open_shops(core: Any, start: datetime, keys: dict[str, str]) -> tuple[list[str], str, str]:
    """Phase 1: open most shops (clock at ``start``), hold one; return the opened meters, the held and the
    silent-to-be meter."""
    billing = core.data["billing"]
    sim = core.data[DOMAIN]
    meters = sorted(e for e in core.states.async_entity_ids("acrel_dtsy1352"))
    await _wait_online(core, meters)
    await _settle(billing)
    rng = random.Random(SEED)
    used: set[str] = set()
    chosen = [e for index, e in enumerate(meters) if index % NOT_OPENED_EVERY != NOT_OPENED_EVERY - 1]
    by_entity = {e: _sim_meter(sim, key) for e, key in keys.items()}
    limit = asyncio.Semaphore(8)

    async def open_one(entity_id: str, name: str, phone: str) -> None:
        async with limit:
            if (await billing.meter_status(entity_id)).get("account_id") is None:
                await billing.open_account(name, [entity_id], OPERATOR, phone=phone,
                                           idempotency_key=f"{KEY_PREFIX}{entity_id}")

    jobs = []
    for index, entity_id in enumerate(chosen):
        meter = by_entity.get(entity_id)
        if meter is not None:  # money the Acrel system left on it when we took over
            meter.remaining_fen = rng.randrange(8000, 60000)
        jobs.append(open_one(entity_id, shop_name(rng, used), f"1380000{index:04d}"))
    await asyncio.gather(*jobs)
    held, silent = chosen[3], chosen[-2]
    await core.services.async_call("acrel_dtsy1352", "hold", {"entity_id": held},
                                   Context(user_id="admin", actor=ACTOR_STAFF))
    for entity_id in meters:
        await billing.set_meter_category(entity_id, "important" if entity_id == held else category_of(entity_id),
                                         OPERATOR)
    for plan in DEMO_PLANS:
        await billing.create_load_plan(**plan, operator=OPERATOR)
    core.clock.offset = timedelta(0)
    return chosen, held, silent


def category_of(entity_id: str) -> str:
    """Return the demo tower's load category of a meter named like ``acrel_dtsy1352.b1_f3_0301``."""
    floor_part, room = entity_id.rsplit("_", 2)[-2:]
    floor = int(floor_part.removeprefix("f"))
    if room.endswith(LIGHTING_ROOM):
        return "public_lighting"
    if floor in CATERING_FLOORS:
        return "catering"
    return "retail" if floor in RETAIL_FLOORS else "office"


def sim_keys(sections: dict[str, Any]) -> dict[str, str]:
    """Return each DTSY1352 entity's simulated meter as the simulator's state names it (``ss1/13``)."""
    return {f"acrel_dtsy1352.{meter['name']}": f"{group['bus']}/{meter['address']}"
            for group in sections.get("acrel_dtsy1352") or [] for meter in group["meters"]}


def _sim_meter(sim: Any, key: str) -> Any:
    """Return the simulated meter of a state key, or None."""
    server_name, _, unit = key.partition("/")
    server = next((s for s in sim.servers if s.name == server_name), None)
    return server.meters.get(int(unit)) if server is not None else None


async def _already_seeded(configuration: Any) -> bool:
    """Tell whether the seed ran; refuse a database with accounts it did not make."""
    db = open_database(configuration)
    await db.async_upgrade()
    try:
        async with db.session() as session:
            keys = (await session.execute(select(AccountRow.open_key))).scalars().all()
    finally:
        await db.async_close()
    foreign = [k for k in keys if not (k or "").startswith(KNOWN_KEYS)]
    if foreign:
        raise SeedRefused(f"the database already holds {len(foreign)} accounts the demo seed did not open")
    return any((k or "").startswith(KEY_PREFIX) for k in keys)


async def _write_history(configuration: Any, stories: list[ShopStory], start: datetime) -> None:
    """Phase 2 (core stopped): the postings, deliveries and readings of every shop's 60 days."""
    db = open_database(configuration)
    try:
        async with db.write() as session:
            readings: list[dict[str, Any]] = []
            for story in stories:
                meter = await session.get(MeterRow, story.entity_id)
                count = meter.purchase_count
                balance = story.found_fen
                for ts, fen, method in story.sales:
                    count = next_count(count)
                    balance += fen
                    row = await ledger.post(
                        session, kind=KIND_SALE, idempotency_key=f"{KEY_PREFIX}sale:{story.entity_id}:{ts:.0f}",
                        entries=[(method, fen), (ledger.meter_account(story.entity_id), -fen)],
                        operator=ledger.Operator.from_dict(OPERATOR) if method == "cash" else ONLINE, ts=ts,
                        amount_fen=fen, account_id=story.account_id, meter_entity_id=story.entity_id,
                        method=method, building=story.building,
                    )
                    session.add(DeliveryRow(transaction_id=row.id, meter_entity_id=story.entity_id, op=OP_SELL,
                                            amount_fen=fen, purchase_count=count, status=DELIVERY_DELIVERED,
                                            attempts=1, created_ts=ts, settled_ts=ts + 2, remaining_fen=None))
                for day, fen in enumerate(story.daily_fen):
                    ts = (start + timedelta(days=day + 1)).timestamp() - 60
                    await ledger.post(
                        session, kind=KIND_CONSUMPTION, idempotency_key=f"{KEY_PREFIX}use:{story.entity_id}:{day}",
                        entries=[(ledger.meter_account(story.entity_id), fen), (ACCOUNT_REVENUE_ENERGY, -fen)],
                        operator=ledger.Operator("billing", ROLE_SYSTEM), ts=ts, amount_fen=fen,
                        account_id=story.account_id, meter_entity_id=story.entity_id, building=story.building,
                    )
                meter.purchase_count = count
                readings += _readings(story, start)
            # what the meters read while phase 1 ran (at the real time) gives way to the story up to now
            await session.execute(delete(ReadingRow).where(ReadingRow.entity_id.in_([s.entity_id for s in stories])))
            await session.execute(insert(ReadingRow), readings)
    finally:
        await db.async_close()


def _readings(story: ShopStory, start: datetime) -> list[dict[str, Any]]:
    """Return a reading every 3 hours of the 60 days, counting up from the meter's counter at opening by each
    day's energy (most of it in office hours)."""
    rows = []
    total = float(story.start_wh)
    per_slot = 86400 // READING_STEP_S
    for day, wh in enumerate(story.daily_wh):
        weights = [0.3 if slot in (0, 1, 7) else 1.4 for slot in range(per_slot)]
        for slot, weight in enumerate(weights):
            total += wh * weight / sum(weights)
            ts = (start + timedelta(days=day, seconds=(slot + 1) * READING_STEP_S)).timestamp()
            rows.append({"entity_id": story.entity_id, "ts": ts, "received_ts": ts, "total_wh": int(total)})
    return rows


def _update_simulator(state_file: Path, stories: dict[str, ShopStory], keys: dict[str, str], silent: str,
                      counts: dict[str, int]) -> None:
    """Give the simulated meters the money, purchase count and energy of their story; silence one (失联)."""
    data = json.loads(state_file.read_text(encoding="utf-8"))
    for entity_id, story in stories.items():
        meter = data["meters"][keys[entity_id]]
        meter["remaining_fen"] = story.final_fen
        meter["money_acc"] = 0.0
        meter["purchase_count"] = register_count(counts[entity_id])
        meter["total_purchased_fen"] = meter.get("total_purchased_fen", 0) + sum(f for _, f, _ in story.sales)
        energy = sum(story.daily_wh)
        for rate in RATES:
            meter["energy_wh"][rate] = meter["energy_wh"].get(rate, 0.0) + energy * RATE_SHARE[rate]
    data["meters"][keys[silent]]["silent"] = True
    state_file.write_text(json.dumps(data), encoding="utf-8")


def state_files(configuration: Configuration) -> list[Path]:
    """Return what the demo keeps besides its database (``openprepay demo reset`` drops it): the simulator's
    saved meters."""
    state_file = configuration.sections[DOMAIN].get("state_file")
    return [configuration.config_dir / state_file] if state_file else []


async def async_seed(config_dir: Path) -> str:
    """Seed the demo tower in ``config_dir``; return what was done (a second run changes nothing)."""
    configuration = load_config(config_dir)
    if await _already_seeded(configuration):
        return "already seeded: nothing changed"
    state_file = config_dir / configuration.sections[DOMAIN]["state_file"]
    keys = sim_keys(configuration.sections)
    for server in configuration.sections[DOMAIN]["servers"]:
        server.pop("baud", None)  # the seed's own run: no 9600-baud wire timing (the demo keeps it)
    core = await async_setup_core(configuration)
    now = core.clock.now().replace(minute=0, second=0, microsecond=0)
    start = (now - timedelta(days=DAYS)).replace(hour=0)
    core.clock.set_now(start)  # what opens now (the configured demo tenant too) opened 60 days ago
    try:
        chosen, held, silent = await _open_shops(core, start, keys)
        billing = core.data["billing"]
        spec = await billing.tariff_for(chosen[0])
        totals = {e: int(core.states.get(e).attributes.get("total_wh") or 0) for e in chosen}
    finally:
        await core.async_stop()
    rng = random.Random(SEED + 1)
    targets = {**dict.fromkeys(chosen[5:9], ALARM1_FEN), **dict.fromkeys(chosen[10:13], ALARM2_FEN),
               **dict.fromkeys(chosen[14:16], ARREARS_FEN)}
    stories = {}
    async_db = open_database(configuration)
    try:
        async with async_db.session() as session:
            meters = {m.entity_id: m for m in (await session.execute(
                select(MeterRow).where(MeterRow.entity_id.in_(chosen)))).scalars()}
            for entity_id in chosen:
                meter = meters[entity_id]
                if meter.mode != MODE_METER or meter.account_id is None:
                    continue
                found = -await ledger.balance(session, ledger.meter_account(entity_id))
                story = ShopStory(entity_id, meter.account_id, meter.building, found, totals[entity_id])
                plan_story(story, rng, start, mean_price(spec, start), targets.get(entity_id))
                stories[entity_id] = story
    finally:
        await async_db.async_close()
    await _write_history(configuration, list(stories.values()), start)
    counts = await _purchase_counts(configuration, list(stories))
    _update_simulator(state_file, stories, keys, silent, counts)
    sales = sum(len(s.sales) for s in stories.values())
    return (f"seeded {len(stories)} shops with {DAYS} days: {sales} sales, {len(targets)} in alarm or arrears, "
            f"held {held}, silent {silent}")


async def _purchase_counts(configuration: Any, entity_ids: list[str]) -> dict[str, int]:
    """Return each meter's purchase count as billing now holds it."""
    db = open_database(configuration)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(MeterRow.entity_id, MeterRow.purchase_count).where(MeterRow.entity_id.in_(entity_ids)))
            return {entity_id: count for entity_id, count in rows}
    finally:
        await db.async_close()
