"""Our FC03 answer decodes every frame exactly as pymodbus' own class does (and fails alike)."""
from __future__ import annotations

import random

import pytest
from pymodbus.exceptions import ModbusIOException
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse

from integrations.modbus.responses import HoldingRegistersResponse


def _decoded(cls: type[ReadHoldingRegistersResponse], data: bytes) -> list[int] | str:
    pdu = cls()
    try:
        pdu.decode(data)
    except ModbusIOException as err:
        return f"error: {err}"
    return pdu.registers


def test_fc03_answers_decode_like_pymodbus() -> None:
    """Random register counts, odd byte counts and trailing bytes give the same registers."""
    rng = random.Random("fc03")
    for _ in range(2000):
        count = rng.randint(0, 125)
        byte_count = min(255, 2 * count + rng.choice((0, 0, 1, -1)))
        body = bytes(rng.randrange(256) for _ in range(max(0, byte_count) + rng.choice((0, 1, 2))))
        data = bytes([max(0, byte_count)]) + body
        ours = _decoded(HoldingRegistersResponse, data)
        assert ours == _decoded(ReadHoldingRegistersResponse, data)
        assert ours is not None


def test_short_frame_is_the_same_error() -> None:
    """A byte count beyond the frame raises pymodbus' ModbusIOException."""
    with pytest.raises(ModbusIOException, match="byte_count 10 > length of packet 5"):
        HoldingRegistersResponse().decode(bytes([10, 1, 2, 3, 4]))
