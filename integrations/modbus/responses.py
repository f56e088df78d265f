"""FC03 answers decoded with one struct call (pymodbus unpacks them register by register)."""
from __future__ import annotations

import struct

from pymodbus.exceptions import ModbusIOException
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse


class HoldingRegistersResponse(ReadHoldingRegistersResponse):
    """A read holding registers answer: same fields and errors as pymodbus', decoded at once."""

    def decode(self, data: bytes) -> None:
        """Decode the byte count and the registers behind it."""
        if (data_len := data[0]) >= len(data):
            raise ModbusIOException(
                f"byte_count {data_len} > length of packet {len(data)}", function_code=self.function_code
            )
        self.registers = list(struct.unpack_from(f">{data_len // 2}H", data, 1))
