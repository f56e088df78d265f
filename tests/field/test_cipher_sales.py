"""Sales to keyed meters (3DES and the meter's TEA) reach them through the driver, over a pty and over TCP.

Every key is chosen so that its enciphered sale starts with the address of another (plain) meter on the same
bus and a function code other than 0x20: a simulator that trusts the first byte hands the frame to that
neighbour and the sale never arrives (issue 12, item 5). The meters' state is read back from the simulator.
"""
from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Iterable

import pytest
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU

from integrations.acrel_dtsy1352.cipher import CIPHER_3DES, CIPHER_ACREL_TEA, make_cipher
from integrations.acrel_dtsy1352.pdu import purchase_request
from integrations.acrel_dtsy1352.proposed import ACREL_FUNCTION_CODE
from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.acrel_dtsy1352.sim_pty import PtyCable
from integrations.acrel_dtsy1352.sim_server import MODE_RTU_OVER_TCP, MODE_SERIAL, LineTiming, SimServer
from integrations.modbus.profile import get_profile
from scada_core.config import load_config
from scada_core.exceptions import ConfigError
from tests.helpers import wait_for

from .conftest import TZ, attr, gateway

pytestmark = pytest.mark.timeout(120)

DOMAIN = "acrel_dtsy1352"
KEY_BYTES = {CIPHER_3DES: 16, CIPHER_ACREL_TEA: 8}
RTU = FramerRTU(DecodePDU(False))
FIRST_SALE, SECOND_SALE, REFUND = 12_345, 678, 1_000  # fen
START_FEN = 20_000
# Keyed meters: address -> cipher; two of each kind on one bus, with plain neighbours added per key.
KEYED = {5: CIPHER_3DES, 6: CIPHER_ACREL_TEA, 40: CIPHER_3DES, 41: CIPHER_ACREL_TEA}
PLAIN = (1, 2)


def crowded_key(kind: str, unit: int, rng: random.Random, taken: Iterable[int]) -> tuple[str, int]:
    """Return a random key whose enciphered first sale to ``unit`` starts with a free address, not FC 0x20."""
    frame = RTU.buildFrame(purchase_request(unit, FIRST_SALE, 2))
    while True:
        key = rng.randbytes(KEY_BYTES[kind]).hex()
        head = make_cipher(kind, key).encrypt(frame)
        if 1 <= head[0] <= 247 and head[0] not in taken and head[1] != ACREL_FUNCTION_CODE and head[1] < 0x80:
            return key, head[0]


def plan_bus(seed: int) -> tuple[dict[int, tuple[str, str] | None], list[int]]:
    """Return {address: (cipher, key) or None for plain} and the plain neighbours the keys point at."""
    rng = random.Random(seed)
    units: dict[int, tuple[str, str] | None] = dict.fromkeys((*PLAIN, *KEYED))
    crowd: list[int] = []
    for unit, kind in KEYED.items():
        key, neighbour = crowded_key(kind, unit, rng, units)
        units[unit] = (kind, key)
        units[neighbour] = None
        crowd.append(neighbour)
    return units, crowd


def make_meters(units: dict[int, tuple[str, str] | None]) -> dict[int, SimMeter]:
    """Simulated meters with no load (money changes only by sales), keyed ones with their cipher."""
    meters: dict[int, SimMeter] = {}
    for unit, keyed in units.items():
        meter = SimMeter(unit=unit, remaining_fen=START_FEN, last_ts=time.time(), power_override_w=0.0)
        if keyed is not None:
            meter.encrypted, (meter.cipher_kind, meter.cipher_key) = True, keyed
        meters[unit] = meter
    return meters


def meter_conf(unit: int, keyed: tuple[str, str] | None) -> dict[str, object]:
    """The YAML entry of one meter (cipher and key for keyed ones)."""
    conf: dict[str, object] = {"name": f"u{unit}", "address": unit}
    if keyed is not None:
        conf["cipher"], conf["key"] = keyed
    return conf


@pytest.fixture
async def pty() -> AsyncIterator[PtyCable]:
    """A started pty pair, closed afterwards."""
    cable = PtyCable()
    cable.start()
    yield cable
    cable.close()


@pytest.mark.parametrize("transport", [MODE_SERIAL, MODE_RTU_OVER_TCP])
async def test_keyed_sales_reach_the_meter(transport: str, pty: PtyCable, sims, start_core) -> None:
    """Two sales and a refund to each keyed meter (3DES and TEA, crowded keys) land on it alone; so does a
    plain sale to a plain neighbour."""
    units, crowd = plan_bus(seed=12 if transport == MODE_SERIAL else 13)
    meters = make_meters(units)
    if transport == MODE_SERIAL:
        sim = SimServer(get_profile("dtsy1352"), meters, time.time, TZ, mode=MODE_SERIAL,
                        serial_path=pty.server_path, timing=LineTiming(19200, "N", 1, 0.002))
    else:
        sim = SimServer(get_profile("dtsy1352"), meters, time.time, TZ, mode=MODE_RTU_OVER_TCP)
    await sim.async_start()
    sims.append(sim)
    if transport == MODE_SERIAL:
        bus = {"name": "line", "type": "serial", "port": pty.client_path, "baudrate": 19200, "timeout": 0.5,
               "retries": 1, "status_interval": 2.0}
    else:
        bus = gateway("line", sim.port, timeout=0.5, retries=1, status_interval=2.0)
    group = {"bus": "line", "meters": [meter_conf(unit, keyed) for unit, keyed in sorted(units.items())]}
    core = await start_core({"modbus": [bus], DOMAIN: [group]})
    for unit in units:
        await wait_for(lambda unit=unit: attr(core, f"{DOMAIN}.u{unit}", "online") is True, 30.0,
                       what=f"u{unit} online")

    async def command(unit: int, amount: int, count: int, service: str = "sell") -> dict[str, object]:
        entity = f"{DOMAIN}.u{unit}"
        response = await core.services.async_call(
            DOMAIN, service, {"entity_id": entity, "amount_fen": amount, "purchase_count": count}
        )
        return response["results"][entity]

    for unit in KEYED:
        assert (await command(unit, FIRST_SALE, 2))["purchase_count"] == 2
        assert (await command(unit, SECOND_SALE, 3))["purchase_count"] == 3
        assert (await command(unit, REFUND, 4, "refund"))["purchase_count"] == 4  # a 72-byte enciphered frame
    assert (await command(crowd[0], SECOND_SALE, 2))["purchase_count"] == 2

    for unit, meter in meters.items():
        if unit in KEYED:
            expected = (4, START_FEN + FIRST_SALE + SECOND_SALE - REFUND)
            assert (meter.purchase_count, meter.remaining_fen) == expected, unit
        elif unit == crowd[0]:
            assert (meter.purchase_count, meter.remaining_fen) == (2, START_FEN + SECOND_SALE), unit
        else:
            assert (meter.purchase_count, meter.remaining_fen) == (1, START_FEN), unit


@pytest.mark.parametrize("kind", [CIPHER_3DES, CIPHER_ACREL_TEA])
def test_cipher_on_a_modbus_tcp_bus_is_refused(tmp_path, kind: str) -> None:
    """A Modbus TCP gateway rebuilds every frame from unit id and PDU: a whole-frame cipher cannot pass, so
    the YAML is refused at the meter's line (no sale sent plain, no MBAP header taken for an address)."""
    key = bytes(range(1, KEY_BYTES[kind] + 1)).hex()
    (tmp_path / "configuration.yaml").write_text(
        "modbus:\n  - {name: annex, type: tcp, host: 127.0.0.1, port: 5502}\n"
        "  - {name: line, type: rtu_over_tcp, host: 127.0.0.1, port: 5503}\n"
        "acrel_dtsy1352:\n  - bus: line\n    meters:\n"
        f"      - {{name: ok, address: 5, cipher: {kind}, key: {key}}}\n"
        "  - bus: annex\n    meters:\n      - {name: plain, address: 1}\n"
        f"      - {{name: keyed, address: 5, cipher: {kind}, key: {key}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    message = str(err.value)
    assert "configuration.yaml:11:" in message and "Modbus TCP" in message and "rtu_over_tcp" in message
    assert "configuration.yaml:7:" not in message  # the same meter on an RTU line is fine
