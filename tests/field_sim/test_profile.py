"""Device profiles: shipped maps load, the planner merges reads, encode/decode agree, mistakes name file:line."""
from __future__ import annotations

from pathlib import Path

import pytest

from integrations.modbus.profile import Block, ProfileError, load_profile


def test_dtsy1352_status_scan_is_the_single_0x0200_block() -> None:
    """The status scan is exactly one FC03 of 48 registers at 0x0200."""
    profile = load_profile("dtsy1352")
    assert profile.plan("status") == [Block(0x0200, 48)]
    assert Block(0x0200, 48) in profile.plan("energy")
    settings = profile.plan("settings")
    assert Block(0x0046, 28) in settings and Block(0x0400, 25) in settings
    assert Block(0x2000, 42) in settings  # both TOU tables merged into one read


def test_decode_scales_signs_and_flags() -> None:
    """Values round-trip through registers with the documented scales; negative money stays negative."""
    profile = load_profile("dtsy1352")
    values = {
        "voltage_a": 231.7, "current_b": 12.34, "power_w": -1500, "power_factor": -0.875,
        "total_wh": 1234560, "valley_wh": 990, "remaining_fen": -4321, "purchase_count": 65535,
        "relay": "open", "prepaid_mode": "forced_off", "alarm1": True, "alarm2": True, "arrears": True,
        "overload": False, "clock_year": 26, "clock_month": 2, "clock_day": 28, "clock_hour": 23,
        "clock_minute": 59, "clock_second": 58,
    }
    words = profile.encode(values, 0x0200, 48)
    assert words[0x21F - 0x200 : 0x221 - 0x200] == [0xFFFF, 0xEF1F]  # s32 -4321, high word first
    assert words[0x215 - 0x200 : 0x217 - 0x200] == [0x0001, 0xE240]  # 123456 × 0.01 kWh
    decoded = profile.decode(0x0200, words)
    for name, value in values.items():
        assert decoded[name] == value, name
    assert isinstance(decoded["remaining_fen"], int) and isinstance(decoded["voltage_a"], float)
    assert decoded["meter_clock"].isoformat() == "2026-02-28T23:59:58"
    assert profile.state_value(decoded) == "-43.21"


def test_decode_only_registers_inside_the_block() -> None:
    """A block that cuts a 32-bit value in half does not produce it."""
    profile = load_profile("dtsy1352")
    decoded = profile.decode(0x0216, [0] * 10)
    assert "total_wh" not in decoded and "sharp_wh" in decoded


def test_adl400_plain_meter_profile() -> None:
    """The plain meter's state is kWh from total_wh; 32-bit power decodes signed."""
    profile = load_profile("adl400")
    assert profile.relay == {"address": 0x0100, "trip": [1], "close": [0]}
    words = profile.encode({"total_wh": 98765430, "power_w": -2500}, 0, 0x0180)
    decoded = profile.decode(0, words)
    assert decoded["power_w"] == -2500
    assert profile.state_value(decoded) == "98765.43"
    for scan in ("status", "energy", "settings"):
        for block in profile.plan(scan):
            assert 1 <= block.count <= 125


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mymeter.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_planner_merges_neighbours_within_gap_and_limit(tmp_path: Path) -> None:
    """Registers closer than max_gap share a read; a larger gap or the 125-register limit splits it."""
    path = _write(tmp_path, """
name: planner
state: a
max_gap: 4
registers:
  - {name: a, address: 0, type: u16, scan: status}
  - {name: b, address: 5, type: u32, scan: status}
  - {name: c, address: 20, type: u16, scan: status}
  - {name: d, address: 140, type: u16, scan: status}
  - {name: e, address: 300, type: u16, scan: energy}
""")
    profile = load_profile(path)
    assert profile.plan("status") == [Block(0, 7), Block(20, 1), Block(140, 1)]
    assert profile.plan("status", max_gap=200) == [Block(0, 21), Block(140, 1)]  # 0..140 would exceed 125
    assert profile.plan("energy") == [Block(300, 1)]


def test_optional_registers_are_read_on_their_own(tmp_path: Path) -> None:
    """An optional register gets a read of its own; no read of required registers spans it."""
    assert Block(0x0077, 1, optional=True) in load_profile("dtsy1352").plan("energy")
    path = _write(tmp_path, """
name: planner
state: a
max_gap: 8
registers:
  - {name: a, address: 0, type: u16, scan: status}
  - {name: f, address: 3, type: u16, scan: status, optional: true}
  - {name: g, address: 4, type: u8hi, scan: status, optional: true}
  - {name: h, address: 4, type: u8lo, scan: status, optional: true}
  - {name: b, address: 6, type: u16, scan: status}
  - {name: c, address: 8, type: u16, scan: status}
""")
    profile = load_profile(path)
    assert profile.plan("status") == [
        Block(0, 1), Block(3, 1, optional=True), Block(4, 1, optional=True), Block(6, 3)
    ]
    assert profile.value_names(Block(4, 1, optional=True)) == ("g", "h")


def test_optional_register_inside_a_block_is_refused(tmp_path: Path) -> None:
    """A fixed block is read whole, so an optional register inside one is a profile mistake with its line."""
    path = _write(tmp_path, """name: broken
state: a
blocks:
  - {start: 0, count: 4, scan: status}
registers:
  - {name: a, address: 0, type: u16}
  - {name: f, address: 2, type: u16, optional: true}
""")
    with pytest.raises(ProfileError, match="mymeter.yaml:7: optional register 'f' lies in a block"):
        load_profile(path)


def test_yaml_mistake_names_file_and_line(tmp_path: Path) -> None:
    """A wrong register type is reported with the profile file and its line."""
    path = _write(tmp_path, """name: broken
state: a
registers:
  - {name: a, address: 0, type: u16}
  - {name: b, address: 1, type: float32}
""")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert "mymeter.yaml:5" in str(err.value)


def test_overlap_and_unknown_state_are_reported(tmp_path: Path) -> None:
    """Two registers on one address and a state naming nothing are both errors with lines."""
    path = _write(tmp_path, """name: broken
state: nothing
registers:
  - {name: a, address: 0, type: u32}
  - {name: b, address: 1, type: u16}
""")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    text = str(err.value)
    assert "mymeter.yaml:5" in text and "overlaps" in text
    assert "mymeter.yaml:2" in text and "nothing" in text
