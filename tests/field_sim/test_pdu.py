"""FC 0x20 PDUs and wire helpers: exact bytes of a purchase, the 15-byte reply, settings with enable flags."""
from __future__ import annotations

import pytest
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU

from integrations.acrel_dtsy1352.pdu import (
    AcrelCommandRequest,
    AcrelCommandResponse,
    PrepaidSettings,
    control_values,
    decode_tou_table,
    encode_tou_table,
    purchase_request,
    settings_request,
)


def test_purchase_frame_bytes() -> None:
    """Unit 1, 100.00 yuan, new count 3: FC10-style header, [amount u32][count u16][0x0000], CRC low byte first."""
    frame = FramerRTU(DecodePDU(False)).buildFrame(purchase_request(1, 10000, 3))
    assert frame[:-2].hex(" ") == "01 20 01 00 00 04 08 00 00 27 10 00 03 00 00"
    crc = 0xFFFF  # CRC-16/MODBUS, reflected polynomial 0xA001, sent low byte first
    for byte in frame[:-2]:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    assert frame[-2:] == crc.to_bytes(2, "little")
    server = DecodePDU(True)
    server.register(AcrelCommandRequest)
    decoded = server.decode(frame[1:-2])
    assert isinstance(decoded, AcrelCommandRequest) and decoded.command == 0x0100 and decoded.data == frame[7:-2]


def test_reply_is_15_bytes_and_decodes() -> None:
    """The PROPOSED reply layout is 15 bytes on the wire and decodes on the client side."""
    reply = AcrelCommandResponse(0x0100, 4, 1, 42, dev_id=9)
    frame = FramerRTU(DecodePDU(True)).buildFrame(reply)
    assert len(frame) == 15
    client = DecodePDU(False)
    client.register(AcrelCommandResponse)
    decoded = client.decode(frame[1:-2])
    assert isinstance(decoded, AcrelCommandResponse)
    assert (decoded.command, decoded.result, decoded.purchase_count, decoded.ok) == (0x0100, 1, 42, False)
    assert "purchase count" in decoded.result_text


def test_settings_enable_flags_round_trip() -> None:
    """Only the given fields carry an enable flag; negative remaining money survives; 60 bytes."""
    settings = PrepaidSettings(remaining_fen=-250, purchase_count=7, alarms_fen=(3000, 1000),
                               prices=(15000, 12000, 8000, 3500), meter_number="202600000017")
    data = settings.encode()
    assert len(data) == 60
    assert data[0:2] == b"\x00\x00"  # prepaid on/off not enabled
    assert data[2] == 1 and data[3:7] == (-250).to_bytes(4, "big", signed=True)
    back = PrepaidSettings.decode(data)
    assert back == settings
    assert back.given() == {"remaining_fen": -250, "purchase_count": 7, "alarms_fen": (3000, 1000),
                            "prices": (15000, 12000, 8000, 3500), "meter_number": "202600000017"}
    assert settings_request(5, PrepaidSettings(prepaid_on=True)).data[:2] == b"\x01\x01"


def test_control_and_tou_helpers() -> None:
    """0x0057 words per action; a TOU table round-trips through its 21 registers."""
    assert (control_values("trip"), control_values("hold"), control_values("release")) == ([1, 1], [1, 0], [0, 0])
    table = [(0, 0, "valley"), (8, 0, "flat"), (10, 30, "peak"), (19, 0, "sharp")]
    words = encode_tou_table(table)
    assert len(words) == 21 and words[0] == 0x0400  # [rate 4 = valley, minute 0], then hour 0
    assert decode_tou_table(words) == table
    with pytest.raises(ValueError):
        encode_tou_table([(h, 0, "flat") for h in range(15)])
