"""No key may make a sale undeliverable: what the meters on a bus make of enciphered frames (issue 12 #5).

Every address 1-247 is a meter on the bus, so the first byte of every enciphered frame names one of them; a
few meters are keyed (3DES and TEA, some sharing a key). For hundreds of random keys the enciphered sale (and
refund) is taken by exactly the meter it is for, whole or arriving in pieces, and by no other meter; plain
requests stay plain. Keys found by search add frames whose plain reading has a valid CRC.
"""
from __future__ import annotations

import asyncio
import random
import time
from zoneinfo import ZoneInfo

import pytest
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU
from pymodbus.pdu.register_message import ReadHoldingRegistersRequest

from integrations.acrel_dtsy1352.cipher import CIPHER_3DES, CIPHER_ACREL_TEA, make_cipher
from integrations.acrel_dtsy1352.pdu import (
    AcrelCommandRequest,
    AcrelCommandResponse,
    PrepaidSettings,
    purchase_request,
    settings_request,
)
from integrations.acrel_dtsy1352.proposed import ACREL_FUNCTION_CODE, REPLY_FRAME_SIZE, RESULT_OK
from integrations.acrel_dtsy1352.sim_frames import Heard, RtuListener, crc_ok
from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.acrel_dtsy1352.sim_server import LineTiming, SimServer
from integrations.acrel_dtsy1352.simulator import Simulator
from integrations.modbus.profile import get_profile

from .test_faults import rtu_read_frame

KEY_BYTES = {CIPHER_3DES: 16, CIPHER_ACREL_TEA: 8}
KEYS_PER_CIPHER = 300
# Keyed meters: two of each cipher share one key (the address alone tells them apart).
KEYED = {7: CIPHER_3DES, 30: CIPHER_3DES, 31: CIPHER_3DES, 100: CIPHER_ACREL_TEA, 101: CIPHER_ACREL_TEA,
         200: CIPHER_ACREL_TEA}
SHARED = {30: 31, 101: 100}  # meter -> meter whose key it shares
RTU = FramerRTU(DecodePDU(False))
# (cipher, key, unit, amount, purchase count): found by search, the first bytes of the enciphered sale read as
# a plain request of a known function code whose CRC checks, shorter than the enciphered frame.
SEARCHED = [
    (CIPHER_3DES, "36d6aaea4e9871f4879c8e1ca4036c71", 5, 10000, 2),  # 8c 18 ..: FC 0x18 to meter 140, 6 bytes
    (CIPHER_3DES, "2708437df2b590a7e0a859f3de190363", 5, 10000, 2),  # 86 18 ..: FC 0x18 to meter 134, 6 bytes
    (CIPHER_ACREL_TEA, "bd0979af514b68e9", 5, 10000, 2),  # 16 11 ..: FC 0x11 to meter 22, 4 bytes
    (CIPHER_ACREL_TEA, "3e652db13b0ef91c", 5, 10000, 2),  # 25 02 ..: FC 02 to meter 37, 8 bytes
]


def server() -> SimServer:
    """A bus (not started) with a meter at every address."""
    meters = {unit: SimMeter(unit=unit) for unit in range(1, 248)}
    for unit, kind in KEYED.items():
        meters[unit].encrypted, meters[unit].cipher_kind = True, kind
    return SimServer(get_profile("dtsy1352"), meters, time.time, ZoneInfo("UTC"))


def listener(sim: SimServer) -> RtuListener:
    """What the simulator's RTU handler uses: the server-side decoder with Acrel's FC 0x20."""
    decoder = DecodePDU(True)
    decoder.register(AcrelCommandRequest)
    return RtuListener(decoder, sim.keyed)


def rekey(sim: SimServer, rng: random.Random) -> None:
    """Give every keyed meter a fresh random key (the sharing ones their partner's)."""
    for unit, kind in KEYED.items():
        sim.meter(unit).cipher_key = rng.randbytes(KEY_BYTES[kind]).hex()
    for unit, partner in SHARED.items():
        sim.meter(unit).cipher_key = sim.meter(partner).cipher_key


def assert_taken_by(hear: RtuListener, frame: bytes, wire: bytes, rng: random.Random) -> None:
    """``wire`` (``frame`` enciphered) is taken whole by its meter: at once, in pieces, after a silence."""
    heard = hear.hear(wire, ended=False)
    assert (heard.frame, heard.used, heard.enciphered) == (frame, len(wire), True), wire.hex()
    cuts = sorted(rng.sample(range(1, len(wire)), 3))
    for cut in cuts:  # bytes arriving in pieces on a serial line: wait for the rest
        assert hear.hear(wire[:cut], ended=False).used == 0, (wire.hex(), cut)
    assert hear.hear(wire, ended=True).frame == frame


@pytest.mark.parametrize("kind", [CIPHER_3DES, CIPHER_ACREL_TEA])
def test_no_key_makes_a_sale_undeliverable(kind: str) -> None:
    """Random keys: each keyed meter's sale and refund reach it alone; the plain reading never wins."""
    rng = random.Random(f"issue12-{kind}")
    sim = server()
    hear = listener(sim)
    targets = [unit for unit, unit_kind in KEYED.items() if unit_kind == kind]
    seen = {"names another meter": 0, "read as plain by first byte": 0, "plain reading still arriving": 0}
    for _ in range(KEYS_PER_CIPHER):
        rekey(sim, rng)
        unit = rng.choice(targets)
        requests = [
            purchase_request(unit, rng.randrange(1, 1_000_000), rng.randrange(0, 0x10000)),
            settings_request(unit, PrepaidSettings(remaining_fen=rng.randrange(0, 100_000),
                                                   purchase_count=rng.randrange(0, 0x10000))),
        ]
        for request in requests:
            frame = RTU.buildFrame(request)
            wire = sim.meter(unit).cipher.encrypt(frame)
            seen["names another meter"] += wire[0] != unit
            seen["read as plain by first byte"] += wire[1] != ACREL_FUNCTION_CODE and wire[1] < 0x80
            plain_class = hear.decoder.lookupPduClass(wire)
            seen["plain reading still arriving"] += bool(
                plain_class and plain_class.calculateRtuFrameSize(wire) > len(wire)
            )
            assert_taken_by(hear, frame, wire, rng)
            # No other keyed meter reads it: without its own meter's key nobody takes it enciphered.
            others = RtuListener(hear.decoder, lambda unit=unit: [k for k in sim.keyed() if k[0] != unit])
            assert not others.hear(wire, ended=True).enciphered
        # Plain requests stay plain for every key: a read and a sale to any meter, keyed or not.
        for request in (ReadHoldingRegistersRequest(address=0x0200, count=48, dev_id=rng.randrange(1, 248)),
                        purchase_request(rng.randrange(1, 248), 100, 2)):
            frame = RTU.buildFrame(request)
            heard = hear.hear(frame, ended=False)
            assert (heard.frame, heard.used, heard.enciphered) == (frame, len(frame), False)
    assert all(count > 0 for count in seen.values()), seen


@pytest.mark.parametrize(("kind", "key", "unit", "amount", "count"), SEARCHED)
def test_searched_keys_whose_plain_reading_has_a_valid_crc(
    kind: str, key: str, unit: int, amount: int, count: int
) -> None:
    """A sale whose enciphered bytes start with a plain request (known function code, CRC checks) lands."""
    sim = server()
    rekey(sim, random.Random(key))
    sim.meter(unit).encrypted, sim.meter(unit).cipher_kind, sim.meter(unit).cipher_key = True, kind, key
    frame = RTU.buildFrame(purchase_request(unit, amount, count))
    wire = make_cipher(kind, key).encrypt(frame)
    hear = listener(sim)
    plain_size = hear.decoder.lookupPduClass(wire).calculateRtuFrameSize(wire)
    assert plain_size < len(wire) and crc_ok(wire[:plain_size])  # still the trap the key was found for
    assert_taken_by(hear, frame, wire, random.Random(key))


def test_noise_is_dropped_at_the_silence_and_never_stalls_the_bus() -> None:
    """Bytes no meter takes wait for the rest of their frame; at the silence after them they are dropped."""
    sim = server()
    rekey(sim, random.Random(1))
    hear = listener(sim)
    stranger = make_cipher(CIPHER_3DES, bytes(range(1, 17)).hex())  # a key no meter holds
    noise = stranger.encrypt(RTU.buildFrame(purchase_request(7, 100, 2)))
    read = RTU.buildFrame(ReadHoldingRegistersRequest(address=0x0200, count=48, dev_id=3))
    for burst in (noise, read[:5], b"\xff\xff" + read):
        assert hear.hear(burst, ended=False).used == 0, burst.hex()
        assert hear.hear(burst, ended=True) == Heard(b"", len(burst)), burst.hex()
    assert hear.hear(read, ended=False) == Heard(read, len(read))


async def test_sale_in_pieces_after_noise_on_a_line(sim: Simulator) -> None:
    """On a line at 1200 baud: noise, a silence, then a 3DES sale written in three pieces whose first byte is
    another meter's address: the keyed meter answers, holds the money, and the line serves the next read."""
    timing = LineTiming(1200, turnaround_s=0.0)
    server = await sim.async_add_server("1-40", mode="rtu_over_tcp", timing=timing)
    meter = server.meter(7)
    meter.power_override_w = 0.0
    frame = RTU.buildFrame(purchase_request(7, 4321, meter.purchase_count + 1))
    rng = random.Random(7)
    while True:  # a key whose enciphered sale starts with a plain neighbour's address
        key = rng.randbytes(16).hex()
        wire = make_cipher(CIPHER_3DES, key).encrypt(frame)
        if 1 <= wire[0] <= 40 and wire[0] != 7 and wire[1] != ACREL_FUNCTION_CODE:
            break
    meter.encrypted, meter.cipher_kind, meter.cipher_key = True, CIPHER_3DES, key
    before, count = meter.remaining_fen, meter.purchase_count
    stranger = make_cipher(CIPHER_3DES, bytes(range(1, 17)).hex()).encrypt(frame)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(stranger + rtu_read_frame(3)[:5])  # nobody's frame, then half a read
        await writer.drain()
        await asyncio.sleep(0.2)  # a silence far longer than 3.5 characters (29 ms)
        for piece in (wire[:3], wire[3:13], wire[13:]):
            writer.write(piece)
            await writer.drain()
        reply = await asyncio.wait_for(reader.readexactly(REPLY_FRAME_SIZE), 10)
        response = AcrelCommandResponse()
        response.decode(reply[2:-2])
        assert reply[:2] == bytes([7, ACREL_FUNCTION_CODE]) and crc_ok(reply)
        assert (response.result, response.purchase_count) == (RESULT_OK, count + 1)
        assert (meter.purchase_count, meter.remaining_fen) == (count + 1, before + 4321)
        writer.write(rtu_read_frame(wire[0]))
        reply = await asyncio.wait_for(reader.readexactly(5 + 96), 10)
        assert reply[:3] == bytes([wire[0], 3, 96]) and crc_ok(reply)
    finally:
        writer.close()
