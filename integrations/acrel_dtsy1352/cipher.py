"""Pluggable FC 0x20 frame ciphers: none, the meter's own 16-bit TEA ("acrel_tea") and 3DES.

Every cipher has ``encrypt(frame) -> bytes`` and ``decrypt(data) -> bytes``; the whole RTU frame (address and
CRC included) is enciphered after zero padding to the cipher's block size. ``decrypt`` keeps the padding:
use :func:`strip_padding` to cut a deciphered FC 0x20 request back to its frame length.
The driver enciphers outgoing FC 0x20 requests with :class:`EncipherHook` (a pymodbus ``trace_packet`` hook).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from Crypto.Cipher import DES3

from .proposed import ACREL_FUNCTION_CODE, TEA_DELTA, TEA_INITIAL_KEY, TEA_ROUNDS, TEA_SHIFTS

CIPHER_NONE = "none"
CIPHER_ACREL_TEA = "acrel_tea"
CIPHER_3DES = "3des"
CIPHERS = (CIPHER_NONE, CIPHER_ACREL_TEA, CIPHER_3DES)

_MASK16 = 0xFFFF


class FrameCipher(Protocol):
    """What every frame cipher offers."""

    block_size: int

    def encrypt(self, frame: bytes) -> bytes:
        """Return the enciphered, zero-padded frame."""

    def decrypt(self, data: bytes) -> bytes:
        """Return the deciphered bytes (padding kept)."""


def _pad(data: bytes, block: int) -> bytes:
    return data + b"\x00" * (-len(data) % block)


class NoCipher:
    """Frames go out as they are."""

    block_size = 1

    def encrypt(self, frame: bytes) -> bytes:
        """Return the frame unchanged."""
        return frame

    def decrypt(self, data: bytes) -> bytes:
        """Return the data unchanged."""
        return data


class AcrelTeaCipher:
    """The meter's TEA variant on pairs of 16-bit words (4-byte blocks), 64-bit key of four 16-bit words."""

    block_size = 4

    def __init__(self, key: tuple[int, int, int, int] = TEA_INITIAL_KEY, rounds: int = TEA_ROUNDS) -> None:
        if len(key) != 4 or not all(0 <= k <= _MASK16 for k in key):
            raise ValueError("acrel_tea key must be four 16-bit words")
        self.key = key
        self.rounds = rounds

    def _block(self, v0: int, v1: int) -> tuple[int, int]:
        k0, k1, k2, k3 = self.key
        left, right = TEA_SHIFTS
        total = 0
        for _ in range(self.rounds):
            total = (total + TEA_DELTA) & _MASK16
            v0 = (v0 + ((((v1 << left) & _MASK16) + k0) ^ (v1 + total) ^ ((v1 >> right) + k1))) & _MASK16
            v1 = (v1 + ((((v0 << left) & _MASK16) + k2) ^ (v0 + total) ^ ((v0 >> right) + k3))) & _MASK16
        return v0, v1

    def _unblock(self, v0: int, v1: int) -> tuple[int, int]:
        k0, k1, k2, k3 = self.key
        left, right = TEA_SHIFTS
        total = (TEA_DELTA * self.rounds) & _MASK16
        for _ in range(self.rounds):
            v1 = (v1 - ((((v0 << left) & _MASK16) + k2) ^ (v0 + total) ^ ((v0 >> right) + k3))) & _MASK16
            v0 = (v0 - ((((v1 << left) & _MASK16) + k0) ^ (v1 + total) ^ ((v1 >> right) + k1))) & _MASK16
            total = (total - TEA_DELTA) & _MASK16
        return v0, v1

    def _apply(self, data: bytes, forward: bool) -> bytes:
        step = self._block if forward else self._unblock
        out = bytearray()
        for i in range(0, len(data), 4):
            a, b = step(int.from_bytes(data[i : i + 2], "big"), int.from_bytes(data[i + 2 : i + 4], "big"))
            out += a.to_bytes(2, "big") + b.to_bytes(2, "big")
        return bytes(out)

    def encrypt(self, frame: bytes) -> bytes:
        """Zero-pad to 4 bytes and encipher."""
        return self._apply(_pad(frame, 4), True)

    def decrypt(self, data: bytes) -> bytes:
        """Decipher whole 4-byte blocks."""
        return self._apply(data[: len(data) - len(data) % 4], False)


class TripleDesCipher:
    """3DES-ECB (pycryptodome) with zero padding to 8 bytes, for meters that use it."""

    block_size = 8

    def __init__(self, key: bytes) -> None:
        self._cipher = DES3.new(DES3.adjust_key_parity(key), DES3.MODE_ECB)

    def encrypt(self, frame: bytes) -> bytes:
        """Zero-pad to 8 bytes and encipher."""
        return self._cipher.encrypt(_pad(frame, 8))

    def decrypt(self, data: bytes) -> bytes:
        """Decipher whole 8-byte blocks."""
        return self._cipher.decrypt(data[: len(data) - len(data) % 8])


def parse_tea_key(key: str | bytes | tuple[int, ...] | list[int] | None) -> tuple[int, int, int, int]:
    """Accept 8 ASCII characters ("acrel321"), 16 hex digits, or four ints; None = the initial key."""
    if key is None:
        return TEA_INITIAL_KEY
    if isinstance(key, (tuple, list)):
        return (int(key[0]), int(key[1]), int(key[2]), int(key[3]))
    raw = key.encode() if isinstance(key, str) else key
    if len(raw) == 16:
        raw = bytes.fromhex(raw.decode())
    if len(raw) != 8:
        raise ValueError("acrel_tea key: 8 characters or 16 hex digits")
    return tuple(int.from_bytes(raw[i : i + 2], "big") for i in range(0, 8, 2))  # type: ignore[return-value]


def make_cipher(kind: str, key: str | bytes | tuple[int, ...] | list[int] | None = None) -> FrameCipher:
    """Return a cipher: "none", "acrel_tea" (key as in parse_tea_key) or "3des" (16/24 bytes or hex)."""
    if kind == CIPHER_NONE:
        return NoCipher()
    if kind == CIPHER_ACREL_TEA:
        return AcrelTeaCipher(parse_tea_key(key))
    if kind == CIPHER_3DES:
        if key is None or isinstance(key, (tuple, list)):
            raise ValueError("3des needs a 16- or 24-byte key")
        raw = bytes.fromhex(key) if isinstance(key, str) else key
        return TripleDesCipher(raw)
    raise ValueError(f"unknown cipher {kind!r}; choose one of {', '.join(CIPHERS)}")


def fc20_frame_length(frame: bytes) -> int:
    """Return the RTU length of an FC 0x20 request (same layout as FC10), 0 if not enough bytes yet."""
    return frame[6] + 9 if len(frame) >= 7 else 0


def strip_padding(plain: bytes) -> bytes:
    """Cut a deciphered FC 0x20 request to its frame length."""
    size = fc20_frame_length(plain)
    return plain[:size] if size else plain


class EncipherHook:
    """A pymodbus ``trace_packet`` hook enciphering outgoing FC 0x20 RTU frames of units that have a cipher.

    It reads RTU frames (address first): ciphers are refused on Modbus TCP buses at load, where the first
    bytes are an MBAP transaction id and a gateway rebuilds every frame anyway.

    Usage: ``hook = EncipherHook(); hook.set(unit, make_cipher("acrel_tea", key))`` then pass ``hook`` as
    ``trace_packet=`` (or chain it). Replies are plain (proposed.REPLIES_ENCIPHERED) and pass untouched.
    """

    def __init__(self, ciphers: Mapping[int, FrameCipher] | None = None) -> None:
        self.ciphers: dict[int, FrameCipher] = dict(ciphers or {})

    def set(self, unit: int, cipher: FrameCipher | None) -> None:
        """Give ``unit`` a cipher (None = plain frames)."""
        if cipher is None or isinstance(cipher, NoCipher):
            self.ciphers.pop(unit, None)
        else:
            self.ciphers[unit] = cipher

    def __call__(self, sending: bool, data: bytes) -> bytes:
        """Encipher a request frame for FC 0x20 when its unit has a cipher."""
        if sending and len(data) > 2 and data[1] == ACREL_FUNCTION_CODE and data[0] in self.ciphers:
            return self.ciphers[data[0]].encrypt(data)
        return data
