"""What the meters on one RTU line make of the bytes they hear: a plain request, an enciphered one, or noise.

Every meter hears every frame. A keyed meter's FC 0x20 request is enciphered whole, address and CRC included
(shared/dtsy1352.md §4), so its first byte says nothing about whom it is for. The bytes are a plain request
when a known function code gives their length and the CRC checks over exactly that length; else every keyed
meter deciphers them with its own key and takes them when the result carries its own address, FC 0x20 and
a valid CRC. Bytes may arrive in pieces: while a keyed meter may still be receiving its request nothing is
decided; once the line falls silent (3.5 characters) bytes nobody took are noise, and dropped.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pymodbus.exceptions import NotImplementedException
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU

from .cipher import FrameCipher, fc20_frame_length
from .proposed import ACREL_FUNCTION_CODE

FC20_HEADER_BYTES = 7  # address, FC, command u16, quantity u16, byte count: enough to know the length


@dataclass(frozen=True)
class Heard:
    """The request at the head of the bytes heard, as a plain RTU frame (empty: none), and the bytes it took
    on the wire (0: wait for more)."""

    frame: bytes
    used: int
    enciphered: bool = False


WAIT = Heard(b"", 0)


def crc_ok(frame: bytes) -> bool:
    """Tell whether an RTU frame ends with the Modbus CRC of what precedes it."""
    if len(frame) < FramerRTU.MIN_SIZE:
        return False
    return FramerRTU.check_CRC(frame[:-2], int.from_bytes(frame[-2:], "big"))


class RtuListener:
    """Split the bytes heard on one RTU line into requests for the meters on it."""

    def __init__(self, decoder: DecodePDU, keyed: Callable[[], Iterable[tuple[int, FrameCipher]]]) -> None:
        self.decoder = decoder
        self.keyed = keyed  # (unit, cipher) of every meter with encryption on, asked afresh for each frame

    def hear(self, data: bytes, ended: bool) -> Heard:
        """Read the head of ``data``; ``ended``: the line has fallen silent after it (no more bytes to come).

        A plain request comes first, unless a keyed meter is still receiving what may be its enciphered
        request (then only the silence tells); a plain request with bytes after it is taken only when no
        keyed meter reads those bytes as its own.
        """
        readings = [self._deciphered(unit, cipher, data) for unit, cipher in self.keyed()]
        receiving = WAIT in readings
        plain = self._plain(data)
        if plain and len(plain) == len(data) and (ended or not receiving):
            return Heard(plain, len(plain))
        for reading in readings:
            if reading is not None and reading.frame:
                return reading
        if plain and not receiving:  # the bytes after it are judged on their own
            return Heard(plain, len(plain))
        return Heard(b"", len(data)) if ended else WAIT

    def _plain(self, data: bytes) -> bytes:
        """Return the plain request heading ``data``: its function code gives the length, the CRC checks."""
        if len(data) < FramerRTU.MIN_SIZE or not (pdu_class := self.decoder.lookupPduClass(data)):
            return b""
        try:
            size = pdu_class.calculateRtuFrameSize(data)
        except NotImplementedException:
            return b""
        return data[:size] if size and len(data) >= size and crc_ok(data[:size]) else b""

    @staticmethod
    def _deciphered(unit: int, cipher: FrameCipher, data: bytes) -> Heard | None:
        """Read ``data`` as an FC 0x20 request to ``unit`` enciphered with its key (zero-padded to blocks):
        the request, WAIT while it may still be arriving, None when it is not one."""
        block = cipher.block_size
        head = cipher.decrypt(data[: -(-FC20_HEADER_BYTES // block) * block])
        if len(head) < FC20_HEADER_BYTES:
            return WAIT  # too few bytes to tell
        if head[0] != unit or head[1] != ACREL_FUNCTION_CODE:
            return None
        size = fc20_frame_length(head)
        padded = size + -size % block
        if len(data) < padded:
            return WAIT
        frame = cipher.decrypt(data[:padded])[:size]
        return Heard(frame, padded, True) if crc_ok(frame) else None
