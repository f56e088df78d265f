"""SMS PDUs (TS 23.040): SMS-SUBMIT encoder with GSM 7-bit / UCS2 and concatenation; SUBMIT and STATUS-REPORT decoders."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .const import MAX_GSM7_PART, MAX_GSM7_SINGLE, MAX_UCS2_PART, MAX_UCS2_SINGLE

# GSM 03.38 default alphabet; index = septet value (0x1B is the escape to the extension table).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}
GSM7_ESCAPE = 0x1B
_BASIC_INDEX = {char: index for index, char in enumerate(GSM7_BASIC) if index != GSM7_ESCAPE}
_EXTENSION_CHAR = {value: char for char, value in GSM7_EXTENSION.items()}

DCS_GSM7 = 0x00
DCS_UCS2 = 0x08
FO_SUBMIT = 0x01
FO_VPF_RELATIVE = 0x10
FO_SRR = 0x20
FO_UDHI = 0x40
TOA_INTERNATIONAL = 0x91
TOA_UNKNOWN = 0x81
IEI_CONCAT_8BIT = 0x00
IEI_CONCAT_16BIT = 0x08
UDH_CONCAT_OCTETS = 6  # UDHL + IEI + IEL + ref + total + seq


class PduError(ValueError):
    """A PDU cannot be built or parsed."""


@dataclass(frozen=True, slots=True)
class SubmitPdu:
    """One SMS-SUBMIT ready for AT+CMGS: the hex after the prompt and the TPDU length to announce."""

    hex: str
    tpdu_length: int
    part: int
    parts: int


def is_gsm7(text: str) -> bool:
    """Tell whether ``text`` fits the GSM 7-bit default alphabet (with its extension table)."""
    return all(char in _BASIC_INDEX or char in GSM7_EXTENSION for char in text)


def _gsm7_units(text: str) -> list[list[int]]:
    """Return the septets of each character (two for extension characters)."""
    return [[_BASIC_INDEX[c]] if c in _BASIC_INDEX else [GSM7_ESCAPE, GSM7_EXTENSION[c]] for c in text]


def _ucs2_units(text: str) -> list[list[int]]:
    """Return the UTF-16 code units of each character (a surrogate pair stays together)."""
    units: list[list[int]] = []
    for char in text:
        raw = char.encode("utf-16-be")
        units.append([int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)])
    return units


def _split(units: list[list[int]], single: int, per_part: int) -> list[list[int]]:
    """Cut characters into parts of at most ``per_part`` units, never inside one character."""
    if sum(len(u) for u in units) <= single:
        return [[x for u in units for x in u]]
    parts: list[list[int]] = [[]]
    for unit in units:
        if len(parts[-1]) + len(unit) > per_part:
            parts.append([])
        parts[-1].extend(unit)
    if len(parts) > 255:
        raise PduError(f"text needs {len(parts)} parts; at most 255 are possible")
    return parts


def pack_septets(septets: list[int], fill_bits: int = 0) -> bytes:
    """Pack 7-bit values LSB first, after ``fill_bits`` zero bits."""
    value = 0
    for index, septet in enumerate(septets):
        value |= septet << (fill_bits + 7 * index)
    total_bits = fill_bits + 7 * len(septets)
    return value.to_bytes((total_bits + 7) // 8, "little")


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    """Unpack ``count`` 7-bit values, skipping ``fill_bits`` leading bits."""
    value = int.from_bytes(data, "little")
    return [(value >> (fill_bits + 7 * i)) & 0x7F for i in range(count)]


def gsm7_decode(septets: list[int]) -> str:
    """Return the text of GSM 7-bit septets."""
    chars: list[str] = []
    escape = False
    for septet in septets:
        if escape:
            chars.append(_EXTENSION_CHAR.get(septet, " "))
            escape = False
        elif septet == GSM7_ESCAPE:
            escape = True
        else:
            chars.append(GSM7_BASIC[septet])
    return "".join(chars)


def _bcd(digits: str) -> bytes:
    """Return digits as swapped semi-octets, padded with F."""
    if not digits.isdigit():
        raise PduError(f"not a phone number: {digits!r}")
    padded = digits + ("F" if len(digits) % 2 else "")
    return bytes.fromhex("".join(padded[i + 1] + padded[i] for i in range(0, len(padded), 2)))


def _unbcd(data: bytes) -> str:
    """Return the digits of swapped semi-octets (F padding dropped)."""
    return "".join(f"{b:02X}"[::-1] for b in data).rstrip("F")


def encode_address(number: str) -> bytes:
    """Return TP-DA: digit count, type of address, BCD digits."""
    digits = number[1:] if number.startswith("+") else number
    toa = TOA_INTERNATIONAL if number.startswith("+") else TOA_UNKNOWN
    return bytes([len(digits), toa]) + _bcd(digits)


def encode_smsc(smsc: str | None) -> bytes:
    """Return the SMSC part: ``00`` (use the SIM's) or length, type and BCD digits."""
    if not smsc:
        return b"\x00"
    digits = smsc[1:] if smsc.startswith("+") else smsc
    body = bytes([TOA_INTERNATIONAL if smsc.startswith("+") else TOA_UNKNOWN]) + _bcd(digits)
    return bytes([len(body)]) + body


def encode_submit(
    number: str,
    text: str,
    *,
    smsc: str | None = None,
    validity: int | None = None,
    status_report: bool = False,
    reference: int = 0,
) -> list[SubmitPdu]:
    """Return the SMS-SUBMIT PDUs for ``text`` to ``number`` (several linked parts when it is long)."""
    gsm7 = is_gsm7(text)
    if gsm7:
        parts = _split(_gsm7_units(text), MAX_GSM7_SINGLE, MAX_GSM7_PART)
    else:
        parts = _split(_ucs2_units(text), MAX_UCS2_SINGLE, MAX_UCS2_PART)
    concat = len(parts) > 1
    first = FO_SUBMIT
    if validity is not None:
        first |= FO_VPF_RELATIVE
    if status_report:
        first |= FO_SRR
    if concat:
        first |= FO_UDHI
    head = bytes([first, 0x00]) + encode_address(number) + bytes([0x00, DCS_GSM7 if gsm7 else DCS_UCS2])
    if validity is not None:
        head += bytes([validity & 0xFF])
    sca = encode_smsc(smsc)
    pdus: list[SubmitPdu] = []
    for index, units in enumerate(parts, start=1):
        udh = bytes([5, IEI_CONCAT_8BIT, 3, reference & 0xFF, len(parts), index]) if concat else b""
        if gsm7:
            fill = (7 - (len(udh) * 8) % 7) % 7
            user_data = udh + pack_septets(units, fill)
            udl = (len(udh) * 8 + fill) // 7 + len(units)
        else:
            user_data = udh + b"".join(u.to_bytes(2, "big") for u in units)
            udl = len(user_data)
        tpdu = head + bytes([udl]) + user_data
        pdus.append(SubmitPdu((sca + tpdu).hex().upper(), len(tpdu), index, len(parts)))
    return pdus


def _decode_udh(user_data: bytes) -> tuple[dict[str, int] | None, int]:
    """Return the concatenation info of a UDH and its length in octets (UDHL included)."""
    length = user_data[0] + 1
    pos, concat = 1, None
    while pos < length:
        iei, iel = user_data[pos], user_data[pos + 1]
        body = user_data[pos + 2 : pos + 2 + iel]
        if iei == IEI_CONCAT_8BIT:
            concat = {"reference": body[0], "total": body[1], "seq": body[2]}
        elif iei == IEI_CONCAT_16BIT:
            concat = {"reference": int.from_bytes(body[:2], "big"), "total": body[2], "seq": body[3]}
        pos += 2 + iel
    return concat, length


def _decode_user_data(dcs: int, udl: int, user_data: bytes, has_udh: bool) -> tuple[str, dict[str, int] | None]:
    """Return the text and concatenation info of TP-UD."""
    concat, udh_len = _decode_udh(user_data) if has_udh else (None, 0)
    alphabet = (dcs >> 2) & 0x03
    if alphabet == 0:
        udh_septets = (udh_len * 8 + 6) // 7
        fill = udh_septets * 7 - udh_len * 8
        septets = unpack_septets(user_data[udh_len:], udl - udh_septets, fill)
        return gsm7_decode(septets), concat
    body = user_data[udh_len:udl]
    if alphabet == 2:
        return body.decode("utf-16-be"), concat
    return body.hex().upper(), concat


class _Reader:
    """Walk a PDU octet by octet."""

    def __init__(self, pdu_hex: str) -> None:
        try:
            self.data = bytes.fromhex(pdu_hex)
        except ValueError as err:
            raise PduError(f"not hex: {err}") from None
        self.pos = 0

    def take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise PduError("PDU too short")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def smsc(self) -> str | None:
        length = self.byte()
        if length == 0:
            return None
        body = self.take(length)
        return ("+" if body[0] == TOA_INTERNATIONAL else "") + _unbcd(body[1:])

    def address(self) -> str:
        digits = self.byte()
        toa = self.byte()
        return ("+" if toa == TOA_INTERNATIONAL else "") + _unbcd(self.take((digits + 1) // 2))

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos)


def _parse_timestamp(raw: bytes) -> datetime:
    """Return a TS 23.040 service-centre timestamp (semi-octets, zone in quarter hours)."""
    fields = [(b & 0x0F) * 10 + (b >> 4) for b in raw[:6]]
    quarters = (raw[6] & 0x07) * 10 + (raw[6] >> 4)
    offset = timedelta(minutes=15 * quarters) * (-1 if raw[6] & 0x08 else 1)
    year, month, day, hour, minute, second = fields
    return datetime(2000 + year, month, day, hour, minute, second, tzinfo=timezone(offset))


def encode_timestamp(moment: datetime) -> bytes:
    """Return ``moment`` as a 7-octet TS 23.040 timestamp."""
    offset = moment.utcoffset() or timedelta(0)
    quarters = int(abs(offset.total_seconds()) // 900)
    digits = moment.strftime("%y%m%d%H%M%S") + f"{quarters:02d}"
    raw = bytearray(_bcd(digits))
    if offset < timedelta(0):
        raw[6] |= 0x08  # the sign bit sits in the first semi-octet, which is the low nibble after the swap
    return bytes(raw)


def decode_submit(pdu_hex: str, *, with_smsc: bool = True) -> dict[str, Any]:
    """Parse an SMS-SUBMIT (as given after the AT+CMGS prompt) into its fields and text."""
    reader = _Reader(pdu_hex)
    smsc = reader.smsc() if with_smsc else None
    first = reader.byte()
    if first & 0x03 != FO_SUBMIT:
        raise PduError(f"not an SMS-SUBMIT (first octet {first:02X})")
    mr = reader.byte()
    number = reader.address()
    pid, dcs = reader.byte(), reader.byte()
    vpf = (first >> 3) & 0x03
    validity: int | None = None
    if vpf == 2:
        validity = reader.byte()
    elif vpf in (1, 3):
        reader.take(7)
    udl = reader.byte()
    text, concat = _decode_user_data(dcs, udl, reader.rest(), bool(first & FO_UDHI))
    return {
        "smsc": smsc,
        "first_octet": first,
        "mr": mr,
        "number": number,
        "pid": pid,
        "dcs": dcs,
        "validity": validity,
        "status_report": bool(first & FO_SRR),
        "udl": udl,
        "concat": concat,
        "text": text,
    }


def encode_status_report(mr: int, recipient: str, status: int, moment: datetime, smsc: str | None = None) -> str:
    """Return an SMS-STATUS-REPORT PDU (SMSC part included) as the modem pushes it after +CDS."""
    stamp = encode_timestamp(moment)
    body = bytes([0x06, mr & 0xFF]) + encode_address(recipient) + stamp + stamp + bytes([status & 0xFF])
    return (encode_smsc(smsc) + body).hex().upper()


def decode_status_report(pdu_hex: str, *, with_smsc: bool = True) -> dict[str, Any]:
    """Parse an SMS-STATUS-REPORT: the message reference it answers and the delivery status."""
    reader = _Reader(pdu_hex)
    smsc = reader.smsc() if with_smsc else None
    first = reader.byte()
    if first & 0x03 != 0x02:
        raise PduError(f"not an SMS-STATUS-REPORT (first octet {first:02X})")
    mr = reader.byte()
    recipient = reader.address()
    scts = _parse_timestamp(reader.take(7))
    discharge = _parse_timestamp(reader.take(7))
    status = reader.byte()
    if status < 0x20:
        outcome = "delivered"
    elif status < 0x40:
        outcome = "pending"
    else:
        outcome = "failed"
    return {
        "smsc": smsc,
        "mr": mr,
        "recipient": recipient,
        "scts": scts,
        "discharge": discharge,
        "status": status,
        "outcome": outcome,
    }
