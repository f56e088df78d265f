"""Acrel function code 0x20 as pymodbus custom PDUs, and the other DTSY1352 wire helpers.

Client: ``client.register(AcrelCommandResponse)`` once, then
``await client.execute(False, purchase_request(unit, amount_fen, count))`` returns an AcrelCommandResponse
(``result``, ``purchase_count``; ``ok``). Server: ``custom_pdu=[AcrelCommandRequest]``.
pymodbus 3.16 keys custom PDUs by function code only, so request and reply are two classes registered on
the side that decodes them.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, fields

from pymodbus.pdu import ModbusPDU

from .proposed import (
    ACREL_FUNCTION_CODE,
    CMD_PREPAID_SETTINGS,
    CMD_PURCHASE,
    CONTROL_HOLD,
    CONTROL_RELEASE,
    CONTROL_TRIP,
    RATE_CODES,
    REPLY_BYTE_COUNT,
    REPLY_FRAME_SIZE,
    RESULT_OK,
    RESULT_TEXT,
    SETTINGS_DATA_BYTES,
    TOU_SLOTS,
)

CONTROL_ACTIONS = {"trip": CONTROL_TRIP, "hold": CONTROL_HOLD, "release": CONTROL_RELEASE}
RATE_BY_NAME = {name: code for code, name in RATE_CODES.items()}


class AcrelCommandRequest(ModbusPDU):
    """FC 0x20 request: [command u16][quantity u16][byte count][data], laid out like FC10."""

    function_code = ACREL_FUNCTION_CODE
    rtu_byte_count_pos = 6

    def __init__(self, command: int = 0, data: bytes = b"", dev_id: int = 1, transaction_id: int = 0) -> None:
        super().__init__(dev_id=dev_id, transaction_id=transaction_id, address=command, count=len(data) // 2)
        self.data = data

    @property
    def command(self) -> int:
        """The command code (0x0100 purchase, 0x0200 prepaid settings, ...)."""
        return self.address

    def encode(self) -> bytes:
        """Encode the request body."""
        return struct.pack(">HHB", self.address, len(self.data) // 2, len(self.data)) + self.data

    def decode(self, data: bytes) -> None:
        """Decode the request body."""
        self.address, self.count, size = struct.unpack(">HHB", data[:5])
        self.data = bytes(data[5 : 5 + size])


class AcrelCommandResponse(ModbusPDU):
    """FC 0x20 reply (PROPOSED, 15 bytes): count 0x0A, command, quantity, result, purchase count, 3 reserved."""

    function_code = ACREL_FUNCTION_CODE
    rtu_frame_size = REPLY_FRAME_SIZE

    def __init__(
        self,
        command: int = 0,
        quantity: int = 0,
        result: int = RESULT_OK,
        purchase_count: int = 0,
        dev_id: int = 1,
        transaction_id: int = 0,
    ) -> None:
        super().__init__(dev_id=dev_id, transaction_id=transaction_id, address=command, count=quantity)
        self.result = result
        self.purchase_count = purchase_count

    @property
    def command(self) -> int:
        """The command this reply answers."""
        return self.address

    @property
    def ok(self) -> bool:
        """Tell whether the meter accepted the command."""
        return self.result == RESULT_OK

    @property
    def result_text(self) -> str:
        """Explain the result code."""
        return RESULT_TEXT.get(self.result, f"result code {self.result}")

    def encode(self) -> bytes:
        """Encode the reply body."""
        return struct.pack(
            ">BHHBH3x", REPLY_BYTE_COUNT, self.address, self.count, self.result, self.purchase_count
        )

    def decode(self, data: bytes) -> None:
        """Decode the reply body."""
        _, self.address, self.count, self.result, self.purchase_count = struct.unpack(">BHHBH3x", data[:11])


def purchase_request(unit: int, amount_fen: int, purchase_count: int) -> AcrelCommandRequest:
    """Build a purchase (recharge) of ``amount_fen`` carrying the NEW purchase count (stored + 1)."""
    if not 0 < amount_fen <= 0xFFFFFFFF or not 0 <= purchase_count <= 0xFFFF:
        raise ValueError("amount must be 1..2**32-1 fen and purchase count 0..65535")
    return AcrelCommandRequest(CMD_PURCHASE, struct.pack(">IHH", amount_fen, purchase_count, 0), dev_id=unit)


def decode_purchase(data: bytes) -> tuple[int, int]:
    """Return (amount_fen, purchase_count) from a purchase request's data."""
    amount, count, _ = struct.unpack(">IHH", data[:8])
    return amount, count


@dataclass
class PrepaidSettings:
    """FC 0x20 command 0x0200: each field not None is written (its enable flag set), the others left alone."""

    prepaid_on: bool | None = None
    remaining_fen: int | None = None
    purchase_count: int | None = None
    total_purchased_fen: int | None = None
    base_energy_centi_kwh: int | None = None
    alarms_fen: tuple[int, int] | None = None  # (alarm1, alarm2), written together
    prices: tuple[int, int, int, int] | None = None  # sharp, peak, flat, valley in 0.0001 CNY/kWh
    overdraft_fen: int | None = None
    recovery_time: int | None = None
    meter_number: str | None = None  # 12 decimal digits

    # (field, struct format of the value part); order is the wire order
    _LAYOUT = (
        ("prepaid_on", ">B"),
        ("remaining_fen", ">i"),
        ("purchase_count", ">H"),
        ("total_purchased_fen", ">I"),
        ("base_energy_centi_kwh", ">I"),
        ("alarms_fen", ">II"),
        ("prices", ">IIII"),
        ("overdraft_fen", ">I"),
        ("recovery_time", ">B"),
        ("meter_number", "6s"),
    )

    def encode(self) -> bytes:
        """Return the 60 data bytes."""
        out = bytearray()
        for name, fmt in self._LAYOUT:
            value = getattr(self, name)
            size = struct.calcsize(fmt)
            if value is None:
                out += b"\x00" * (1 + size)
                continue
            if name == "meter_number":
                value = (bytes.fromhex(value.rjust(12, "0")),)
            elif not isinstance(value, tuple):
                value = (int(value),)
            out += b"\x01" + struct.pack(fmt, *value)
        assert len(out) == SETTINGS_DATA_BYTES
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> PrepaidSettings:
        """Return the settings whose enable flag is set."""
        result = cls()
        pos = 0
        for name, fmt in cls._LAYOUT:
            size = struct.calcsize(fmt)
            if data[pos]:
                value = struct.unpack(fmt, data[pos + 1 : pos + 1 + size])
                if name == "meter_number":
                    setattr(result, name, value[0].hex())
                elif name == "prepaid_on":
                    setattr(result, name, bool(value[0]))
                else:
                    setattr(result, name, value if len(value) > 1 else value[0])
            pos += 1 + size
        return result

    def given(self) -> dict[str, object]:
        """Return the fields that are set."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def settings_request(unit: int, settings: PrepaidSettings) -> AcrelCommandRequest:
    """Build FC 0x20 command 0x0200 (prepaid settings); restore-prepaid = PrepaidSettings(prepaid_on=True)."""
    return AcrelCommandRequest(CMD_PREPAID_SETTINGS, settings.encode(), dev_id=unit)


def control_values(action: str) -> list[int]:
    """Return the two words to write (FC10) at 0x0057 for "trip", "hold" (forced close) or "release"."""
    return list(CONTROL_ACTIONS[action])


def encode_tou_table(periods: list[tuple[int, int, str]]) -> list[int]:
    """Return the 21 registers of a TOU day table from [(hour, minute, rate name)] in start order."""
    if len(periods) > TOU_SLOTS:
        raise ValueError(f"a TOU table holds at most {TOU_SLOTS} periods")
    raw = bytearray()
    for hour, minute, rate in sorted(periods, key=lambda p: (p[0], p[1])):
        raw += bytes((RATE_BY_NAME[rate], minute, hour))
    raw += b"\x00" * (TOU_SLOTS * 3 - len(raw))
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def decode_tou_table(registers: list[int]) -> list[tuple[int, int, str]]:
    """Return [(hour, minute, rate name)] from the 21 registers of a TOU day table (empty slots skipped)."""
    raw = b"".join(word.to_bytes(2, "big") for word in registers)
    periods = []
    for i in range(0, min(len(raw), TOU_SLOTS * 3), 3):
        rate, minute, hour = raw[i], raw[i + 1], raw[i + 2]
        if rate in RATE_CODES and hour < 24 and minute < 60:
            periods.append((hour, minute, RATE_CODES[rate]))
    return periods
