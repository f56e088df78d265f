"""The compiled block decoder gives exactly what decoding register by register gives."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest

from integrations.modbus.profile import CLOCK_PARTS, MEMO_SIZE, DeviceProfile, Register, load_profile

MIXED = """
name: mixed
state: money
word_order: little
clock: {year: y, month: mo, day: d, hour: h, minute: mi, second: s, year_base: 2000}
registers:
  - {name: a, address: 0, type: u16, scale: 0.1}
  - {name: b, address: 1, type: s16, scale: 0.001}
  - {name: money, address: 2, type: s32}
  - {name: energy, address: 4, type: u32, scale: 10, word_order: big}
  - {name: signed_big, address: 6, type: s32, scale: 0.01, word_order: big}
  - {name: little, address: 8, type: u32, scale: 0.5}
  - {name: whole, address: 10, type: u16}
  - {name: y, address: 10, type: u8hi}
  - {name: mo, address: 10, type: u8lo}
  - {name: d, address: 11, type: u8hi}
  - {name: h, address: 11, type: u8lo}
  - {name: mi, address: 12, type: u8hi}
  - {name: s, address: 12, type: u8lo}
  - {name: also_hi, address: 12, type: u8hi, scale: 3}
  - name: flags
    address: 13
    type: bits
    fields:
      enabled: 0
      top: 15
      mode: {mask: 0x0F00, map: {1: one, 2: two}, default: other}
      level: {mask: 0x00F0}
  - {name: table, address: 14, type: raw, count: 3}
  - {name: tail, address: 17, type: s16, scale: -2}
"""


def reference_value(reg: Register, words: list[int]) -> Any:
    """Decode one register straightforwardly from its own words."""
    if reg.type == "raw":
        return list(words)
    if reg.type == "bits":
        return words[0]
    if reg.type in ("u32", "s32"):
        high, low = (words[0], words[1]) if reg.word_order == "big" else (words[1], words[0])
        raw = (high << 16) | low
        if reg.type == "s32" and raw & 0x80000000:
            raw -= 1 << 32
    elif reg.type == "u8hi":
        raw = words[0] >> 8
    elif reg.type == "u8lo":
        raw = words[0] & 0xFF
    else:
        raw = words[0]
        if reg.type == "s16" and raw & 0x8000:
            raw -= 1 << 16
    return raw * reg.scale if reg.decimals is None else round(raw * reg.scale, reg.decimals)


def reference_decode(profile: DeviceProfile, start: int, words: list[int]) -> dict[str, Any]:
    """Decode a block register by register, bit field by bit field, then the meter clock."""
    values: dict[str, Any] = {}
    for reg in profile.registers:
        if reg.address < start or reg.end > start + len(words):
            continue
        value = reference_value(reg, words[reg.address - start : reg.end - start])
        if not reg.fields:
            values[reg.name] = value
        for bit_field in reg.fields:
            raw = (value & bit_field.mask) >> bit_field.shift
            if bit_field.mapping is not None:
                values[bit_field.name] = bit_field.mapping.get(raw, bit_field.default)
            else:
                values[bit_field.name] = bool(raw) if bit_field.mask == 1 << bit_field.shift else raw
    clock = profile.clock
    if clock and all(clock[part] in values for part in CLOCK_PARTS):
        parts = {part: int(values[clock[part]]) for part in CLOCK_PARTS}
        parts["year"] += clock.get("year_base", 0)
        try:
            values["meter_clock"] = dt.datetime(**parts)
        except ValueError:
            values["meter_clock"] = None
    return values


def _typed(values: dict[str, Any]) -> list[tuple[str, type, Any]]:
    """Names in order with each value's type, so 3 and 3.0 differ."""
    return [(name, type(value), value) for name, value in values.items()]


def _blocks(profile: DeviceProfile, rng: random.Random) -> list[tuple[int, int]]:
    """Planned reads, each register alone, and random windows cutting values in half."""
    spans = [(block.start, block.count) for block in profile.readable_spans()]
    low = min(reg.address for reg in profile.registers)
    high = max(reg.end for reg in profile.registers)
    for _ in range(30):
        start = rng.randrange(max(0, low - 2), high)
        spans.append((start, rng.randint(1, min(125, high - start + 2))))
    return spans


def _words(rng: random.Random, count: int) -> list[int]:
    """Random registers, with the edge values (0, sign bit, all ones) often."""
    edges = (0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x0C1F, 0x1A02)
    return [rng.choice(edges) if rng.random() < 0.3 else rng.randrange(0x10000) for _ in range(count)]


@pytest.mark.parametrize("name", ["dtsy1352", "adl400", "mixed"])
def test_compiled_decoder_matches_register_by_register(name: str, tmp_path: Path) -> None:
    """Random register blocks decode to the same names, order, types and values (clock included)."""
    if name == "mixed":
        (tmp_path / "mixed.yaml").write_text(MIXED, encoding="utf-8")
        profile = load_profile(tmp_path / "mixed.yaml")
    else:
        profile = load_profile(name)
    rng = random.Random(f"decoder-{name}")
    for start, count in _blocks(profile, rng):
        for _ in range(40):
            words = _words(rng, count)
            assert _typed(profile.decode(start, words)) == _typed(reference_decode(profile, start, words)), (
                start,
                count,
                words,
            )


def test_values_past_the_remembered_ones_still_decode_exactly() -> None:
    """More distinct register values than the decoder remembers give the same results."""
    profile = load_profile("dtsy1352")
    rng = random.Random("memo")
    for _ in range(3 * MEMO_SIZE):
        words = _words(rng, 48)
        assert profile.decode(0x0200, words) == reference_decode(profile, 0x0200, words)


def test_mixed_profile_values_are_what_the_map_says(tmp_path: Path) -> None:
    """Hand-checked values: little word order, signs, bytes, bit fields, raw words and the clock."""
    (tmp_path / "mixed.yaml").write_text(MIXED, encoding="utf-8")
    profile = load_profile(tmp_path / "mixed.yaml")
    words = [2317, 0xFC18, 0xFFFE, 0xFFFF, 0x0001, 0x0002, 0xFFFF, 0xFF9C, 0x0003, 0x0000, 0x1A02, 0x1C17,
             0x3B3A, 0x8251, 7, 8, 9, 0xFFFF]
    values = profile.decode(0, words)
    assert values["a"] == 231.7 and values["b"] == -1.0
    assert values["money"] == -2 and values["energy"] == 655380 and values["signed_big"] == -1.0
    assert values["little"] == 1.5
    assert (values["whole"], values["y"], values["mo"], values["also_hi"]) == (0x1A02, 26, 2, 0x3B * 3)
    assert (values["enabled"], values["top"], values["mode"], values["level"]) == (True, True, "two", 5)
    assert values["table"] == [7, 8, 9] and values["tail"] == 2
    assert values["meter_clock"] == dt.datetime(2026, 2, 28, 23, 59, 58)
