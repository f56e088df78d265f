"""Frame ciphers: round trips, a hand-derived known answer, and the client hook for FC 0x20 frames."""
from __future__ import annotations

import pytest

from integrations.acrel_dtsy1352.cipher import (
    AcrelTeaCipher,
    EncipherHook,
    make_cipher,
    parse_tea_key,
    strip_padding,
)
from integrations.acrel_dtsy1352.pdu import purchase_request
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU

FRAME = bytes.fromhex("0120010000040800000064000500001234")  # any 17 bytes


@pytest.mark.parametrize(
    ("kind", "key", "block"),
    [("none", None, 1), ("acrel_tea", "acrel321", 4), ("acrel_tea", "0011223344556677", 4),
     ("3des", "0123456789abcdeffedcba9876543210", 8)],
)
def test_round_trip(kind: str, key: str | None, block: int) -> None:
    """decrypt(encrypt(frame)) gives the frame back, zero-padded to the block size."""
    cipher = make_cipher(kind, key)
    enciphered = cipher.encrypt(FRAME)
    assert len(enciphered) % block == 0
    if kind != "none":
        assert enciphered[: len(FRAME)] != FRAME
    plain = cipher.decrypt(enciphered)
    assert plain[: len(FRAME)] == FRAME and set(plain[len(FRAME) :]) <= {0}


def test_one_round_known_answer_derived_by_hand() -> None:
    """One round, zero key, zero block: v0 = 0x79B9 (delta mod 2**16); v1 = 0x9B90 ^ 0xF372 ^ 0x03CD = 0x6B2F."""
    cipher = AcrelTeaCipher((0, 0, 0, 0), rounds=1)
    assert cipher.encrypt(b"\x00\x00\x00\x00") == bytes.fromhex("79b96b2f")
    assert cipher.decrypt(bytes.fromhex("79b96b2f")) == b"\x00\x00\x00\x00"


def test_initial_key_is_acrel321() -> None:
    """The meter's initial key words are ASCII "acrel321"."""
    assert parse_tea_key("acrel321") == (0x6163, 0x7265, 0x6C33, 0x3231)
    assert parse_tea_key(None) == parse_tea_key("616372656c333231") == parse_tea_key("acrel321")


def test_hook_enciphers_only_fc20_requests_of_keyed_units() -> None:
    """The trace_packet hook leaves FC03 and other units alone and enciphers unit 5's purchase frame."""
    hook = EncipherHook()
    tea = make_cipher("acrel_tea", "acrel321")
    hook.set(5, tea)
    framer = FramerRTU(DecodePDU(False))
    frame = framer.buildFrame(purchase_request(5, 10000, 3))
    sent = hook(True, frame)
    assert sent != frame and len(sent) % 4 == 0
    assert strip_padding(tea.decrypt(sent)) == frame
    other = framer.buildFrame(purchase_request(6, 10000, 3))
    assert hook(True, other) == other
    assert hook(False, sent) == sent  # replies pass untouched


def test_bad_keys_are_refused() -> None:
    """Wrong key sizes raise ValueError with a clear message."""
    with pytest.raises(ValueError, match="8 characters"):
        make_cipher("acrel_tea", "short")
    with pytest.raises(ValueError, match="unknown cipher"):
        make_cipher("rot13")
