"""Declarative YAML device profiles: register map, scan classes, block planning, decoding and encoding.

A profile says what a meter model holds (see ``profiles/dtsy1352.yaml`` for a commented example)::

    name: dtsy1352
    state: remaining_fen            # attribute that becomes the entity state
    state_scale: 0.01               # state = attribute × scale, shown with state_decimals
    state_decimals: 2
    word_order: big                 # high word first for 32-bit values (default)
    max_gap: 8                      # planner may read across up to 8 unused registers
    blocks:                         # ranges always read as one frame
      - {start: 0x0200, count: 48, scan: [status, energy]}
    registers:
      - {name: voltage_a, address: 0x0201, type: u16, scale: 0.1, unit: V, scan: status}
      - name: status_word
        address: 0x0224
        type: bits
        scan: status
        fields:
          relay: {bit: 13, map: {1: closed, 0: open}}
          alarm1: {bit: 6}

Register types: u16, s16, u32, s32 (two registers, ``word_order``), u8hi / u8lo (one byte of a register),
bits (named fields of a 16-bit register: ``bit`` for a flag, or ``mask`` with an optional value ``map``),
raw (``count`` registers returned as a list). An integer ``scale`` gives int values, a fractional one floats.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voluptuous as vol

from scada_core.exceptions import ConfigError
from scada_core.yaml_loader import find_location, load_yaml

_LOGGER = logging.getLogger(__name__)

PROFILES_DIR = Path(__file__).parent / "profiles"

SCAN_STATUS = "status"
SCAN_ENERGY = "energy"
SCAN_SETTINGS = "settings"
SCAN_CLASSES = (SCAN_STATUS, SCAN_ENERGY, SCAN_SETTINGS)

MAX_READ_REGISTERS = 125
DEFAULT_MAX_GAP = 8

TYPE_WIDTH = {"u16": 1, "s16": 1, "u32": 2, "s32": 2, "u8hi": 1, "u8lo": 1, "bits": 1}
REGISTER_TYPES = (*TYPE_WIDTH, "raw")
CLOCK_PARTS = ("year", "month", "day", "hour", "minute", "second")


def _int_or_hex(value: Any) -> int:
    """Accept 512, 0x200 (YAML int) or "0x0200"."""
    if isinstance(value, bool):
        raise vol.Invalid("expected an integer")
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            raise vol.Invalid(f"expected an integer, got {value!r}") from None
    if isinstance(value, int):
        return value
    raise vol.Invalid(f"expected an integer, got {value!r}")


ADDRESS = vol.All(_int_or_hex, vol.Range(min=0, max=0xFFFF))
SCAN_LIST = vol.All(lambda v: [v] if isinstance(v, str) else v, [vol.In(SCAN_CLASSES)])

def _bit_or_mask(value: dict[str, Any]) -> dict[str, Any]:
    if ("bit" in value) == ("mask" in value):
        raise vol.Invalid("a bit field needs exactly one of 'bit' or 'mask'")
    return value


FIELD_SCHEMA = vol.All(
    lambda v: {"bit": v} if isinstance(v, int) and not isinstance(v, bool) else v,
    vol.Schema(
        {
            vol.Optional("bit"): vol.All(int, vol.Range(min=0, max=15)),
            vol.Optional("mask"): vol.All(_int_or_hex, vol.Range(min=1, max=0xFFFF)),
            vol.Optional("map"): {_int_or_hex: vol.Any(str, bool, int)},
            vol.Optional("default"): vol.Any(str, bool, int, None),
        }
    ),
    _bit_or_mask,
)

REGISTER_SCHEMA = vol.Schema(
    {
        vol.Required("name"): vol.Match(r"^[a-z][a-z0-9_]*$"),
        vol.Required("address"): ADDRESS,
        vol.Required("type"): vol.In(REGISTER_TYPES),
        vol.Optional("count"): vol.All(int, vol.Range(min=1, max=MAX_READ_REGISTERS)),
        vol.Optional("scale", default=1): vol.Any(int, float),
        vol.Optional("unit"): str,
        vol.Optional("word_order"): vol.In(("big", "little")),
        vol.Optional("scan", default=[]): SCAN_LIST,
        vol.Optional("writable", default=False): bool,
        vol.Optional("fields"): {vol.Match(r"^[a-z][a-z0-9_]*$"): FIELD_SCHEMA},
        vol.Optional("description"): str,
    }
)

BLOCK_SCHEMA = vol.Schema(
    {
        vol.Required("start"): ADDRESS,
        vol.Required("count"): vol.All(int, vol.Range(min=1, max=MAX_READ_REGISTERS)),
        vol.Required("scan"): SCAN_LIST,
    }
)

PROFILE_SCHEMA = vol.Schema(
    {
        vol.Required("name"): vol.Match(r"^[a-z0-9_]+$"),
        vol.Optional("manufacturer"): str,
        vol.Optional("model"): str,
        vol.Optional("description"): str,
        vol.Required("state"): str,
        vol.Optional("state_scale", default=1): vol.Any(int, float),
        vol.Optional("state_decimals", default=2): vol.All(int, vol.Range(min=0, max=6)),
        vol.Optional("word_order", default="big"): vol.In(("big", "little")),
        vol.Optional("max_gap", default=DEFAULT_MAX_GAP): vol.All(int, vol.Range(min=0, max=124)),
        vol.Optional("blocks", default=[]): [BLOCK_SCHEMA],
        vol.Optional("clock"): {
            **{vol.Required(part): str for part in CLOCK_PARTS},
            vol.Optional("year_base"): int,
        },
        vol.Optional("relay"): vol.Schema(
            {vol.Required("address"): ADDRESS, vol.Required("trip"): [int], vol.Required("close"): [int]}
        ),
        vol.Required("registers"): vol.All([REGISTER_SCHEMA], vol.Length(min=1)),
    }
)


class ProfileError(ConfigError):
    """A device profile is wrong; each line names file:line."""


@dataclass(frozen=True)
class BitField:
    """One named field of a ``bits`` register."""

    name: str
    mask: int
    shift: int
    mapping: dict[int, Any] | None
    default: Any

    def decode(self, raw: int) -> Any:
        """Return the field's value from the whole 16-bit register."""
        value = (raw & self.mask) >> self.shift
        if self.mapping is None:
            return bool(value) if self.mask == 1 << self.shift else value
        return self.mapping.get(value, self.default)

    def encode(self, value: Any) -> int:
        """Return the register bits that carry ``value``."""
        if self.mapping is not None:
            for raw, mapped in self.mapping.items():
                if mapped == value:
                    return (raw << self.shift) & self.mask
            return 0
        return (int(value) << self.shift) & self.mask


@dataclass(frozen=True)
class Register:
    """One value of the map."""

    name: str
    address: int
    type: str
    width: int
    scale: int | float
    unit: str | None
    word_order: str
    scans: tuple[str, ...]
    writable: bool
    fields: tuple[BitField, ...] = ()
    decimals: int | None = None  # rounding of fractional scales; None for integer scales

    @property
    def end(self) -> int:
        """First address after this register."""
        return self.address + self.width

    def decode(self, words: list[int]) -> Any:
        """Return the physical value from this register's words."""
        kind = self.type
        if kind == "raw":
            return list(words)
        if kind == "bits":
            return words[0]
        if kind in ("u32", "s32"):
            high, low = (words[0], words[1]) if self.word_order == "big" else (words[1], words[0])
            raw = (high << 16) | low
            if kind == "s32" and raw & 0x80000000:
                raw -= 1 << 32
        elif kind == "u8hi":
            raw = words[0] >> 8
        elif kind == "u8lo":
            raw = words[0] & 0xFF
        else:
            raw = words[0]
            if kind == "s16" and raw & 0x8000:
                raw -= 1 << 16
        if self.decimals is None:
            return raw * self.scale
        return round(raw * self.scale, self.decimals)

    def encode(self, value: Any) -> list[int]:
        """Return this register's words for a physical value (bytes of u8hi/u8lo in place)."""
        kind = self.type
        if kind == "raw":
            return [int(v) & 0xFFFF for v in value][: self.width] + [0] * max(0, self.width - len(value))
        raw = int(value) if kind == "bits" else round(value / self.scale)
        if kind in ("u32", "s32"):
            raw &= 0xFFFFFFFF
            words = [raw >> 16, raw & 0xFFFF]
            return words if self.word_order == "big" else words[::-1]
        if kind == "u8hi":
            return [(raw & 0xFF) << 8]
        if kind == "u8lo":
            return [raw & 0xFF]
        return [raw & 0xFFFF]


@dataclass(frozen=True)
class Block:
    """One FC03 read: ``count`` registers from ``start``."""

    start: int
    count: int

    @property
    def end(self) -> int:
        """First address after the block."""
        return self.start + self.count


def _decimals(scale: int | float) -> int | None:
    """Return the decimals a fractional scale implies (0.01 -> 2); None for integer scales."""
    if isinstance(scale, int):
        return None
    return len(f"{scale:.10f}".rstrip("0").split(".")[1])


@dataclass
class DeviceProfile:
    """A validated meter model: its registers, blocks and how its state is shown."""

    name: str
    state: str
    state_scale: int | float
    state_decimals: int
    max_gap: int
    registers: tuple[Register, ...]
    blocks: dict[str, tuple[Block, ...]]
    clock: dict[str, Any] | None = None
    relay: dict[str, Any] | None = None
    manufacturer: str | None = None
    model: str | None = None
    source: str = "?"
    _by_name: dict[str, Register] = field(default_factory=dict, repr=False)
    _plans: dict[tuple[str, int, int], list[Block]] = field(default_factory=dict, repr=False)
    _inside: dict[tuple[int, int], tuple[Register, ...]] = field(default_factory=dict, repr=False)
    _touching: dict[tuple[int, int], tuple[Register, ...]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_name = {reg.name: reg for reg in self.registers}

    def register(self, name: str) -> Register:
        """Return the register called ``name``."""
        return self._by_name[name]

    def has_scan(self, scan: str) -> bool:
        """Tell whether anything is read in scan class ``scan``."""
        return bool(self.plan(scan))

    def plan(self, scan: str, max_gap: int | None = None, max_count: int = MAX_READ_REGISTERS) -> list[Block]:
        """Return the fewest FC03 reads that cover every register of scan class ``scan``."""
        gap = self.max_gap if max_gap is None else max_gap
        key = (scan, gap, max_count)
        if key not in self._plans:
            wanted = [r for r in self.registers if scan in r.scans]
            self._plans[key] = _plan(self.blocks.get(scan, ()), wanted, gap, max_count)
        return list(self._plans[key])

    def decode(self, block_start: int, registers: list[int]) -> dict[str, Any]:
        """Decode every register (and bit field) wholly inside the block into attribute values."""
        key = (block_start, len(registers))
        if key not in self._inside:
            end = block_start + len(registers)
            self._inside[key] = tuple(r for r in self.registers if r.address >= block_start and r.end <= end)
        values: dict[str, Any] = {}
        for reg in self._inside[key]:
            offset = reg.address - block_start
            value = reg.decode(registers[offset : offset + reg.width])
            if reg.fields:
                for bit_field in reg.fields:
                    values[bit_field.name] = bit_field.decode(value)
            else:
                values[reg.name] = value
        if self.clock and all(self.clock[part] in values for part in CLOCK_PARTS):
            values["meter_clock"] = self._clock(values)
        return values

    def _clock(self, values: dict[str, Any]) -> dt.datetime | None:
        parts = {part: int(values[self.clock[part]]) for part in CLOCK_PARTS}  # type: ignore[index]
        parts["year"] += self.clock.get("year_base", 0)  # type: ignore[union-attr]
        try:
            return dt.datetime(**parts)
        except ValueError:
            return None

    def encode(self, values: dict[str, Any], start: int, count: int) -> list[int]:
        """Return ``count`` register words from ``start`` for the given attribute values (unknown = 0)."""
        words = [0] * count
        end = start + count
        key = (start, count)
        if key not in self._touching:
            self._touching[key] = tuple(r for r in self.registers if r.end > start and r.address < end)
        for reg in self._touching[key]:
            if reg.fields:
                raw = 0
                for bit_field in reg.fields:
                    if bit_field.name in values:
                        raw |= bit_field.encode(values[bit_field.name])
                encoded = [raw]
            elif reg.name in values and values[reg.name] is not None:
                encoded = reg.encode(values[reg.name])
            else:
                continue
            for i, word in enumerate(encoded):
                address = reg.address + i
                if start <= address < end:
                    words[address - start] |= word
        return words

    def state_value(self, values: dict[str, Any]) -> str | None:
        """Return the entity state text (e.g. remaining yuan "123.45") or None if unknown."""
        raw = values.get(self.state)
        if raw is None:
            return None
        return f"{raw * self.state_scale:.{self.state_decimals}f}"

    def readable_spans(self) -> list[Block]:
        """Return every range a client may read: planned blocks of all scan classes and each register."""
        spans = {block for scan in SCAN_CLASSES for block in self.plan(scan)}
        spans.update(Block(reg.address, reg.width) for reg in self.registers)
        return sorted(spans, key=lambda b: (b.start, b.count))

    def writable_registers(self) -> list[Register]:
        """Return the registers a client may write (FC06/FC10)."""
        return [reg for reg in self.registers if reg.writable]


def _plan(fixed: tuple[Block, ...], registers: list[Register], max_gap: int, max_count: int) -> list[Block]:
    """Merge registers not inside a fixed block into as few reads as the gap and size limits allow."""
    loose = sorted(
        (r for r in registers if not any(b.start <= r.address and r.end <= b.end for b in fixed)),
        key=lambda r: r.address,
    )
    planned: list[Block] = list(fixed)
    start = end = -1
    for reg in loose:
        if start >= 0 and reg.address - end <= max_gap and max(end, reg.end) - start <= max_count:
            end = max(end, reg.end)
            continue
        if start >= 0:
            planned.append(Block(start, end - start))
        start, end = reg.address, reg.end
    if start >= 0:
        planned.append(Block(start, end - start))
    return sorted(planned, key=lambda b: b.start)


def _build(config: dict[str, Any], source: str) -> DeviceProfile:
    registers: list[Register] = []
    for item in config["registers"]:
        width = item.get("count", 1) if item["type"] == "raw" else TYPE_WIDTH[item["type"]]
        fields = tuple(
            BitField(
                name=name,
                mask=spec.get("mask", 1 << spec.get("bit", 0)),
                shift=spec["bit"] if "bit" in spec else (spec["mask"] & -spec["mask"]).bit_length() - 1,
                mapping=spec.get("map"),
                default=spec.get("default"),
            )
            for name, spec in (item.get("fields") or {}).items()
        )
        registers.append(
            Register(
                name=item["name"],
                address=item["address"],
                type=item["type"],
                width=width,
                scale=item["scale"],
                unit=item.get("unit"),
                word_order=item.get("word_order", config["word_order"]),
                scans=tuple(item["scan"]),
                writable=item["writable"],
                fields=fields,
                decimals=_decimals(item["scale"]),
            )
        )
    blocks: dict[str, list[Block]] = {}
    for block in config["blocks"]:
        for scan in block["scan"]:
            blocks.setdefault(scan, []).append(Block(block["start"], block["count"]))
    return DeviceProfile(
        name=config["name"],
        state=config["state"],
        state_scale=config["state_scale"],
        state_decimals=config["state_decimals"],
        max_gap=config["max_gap"],
        registers=tuple(registers),
        blocks={scan: tuple(items) for scan, items in blocks.items()},
        clock=config.get("clock"),
        relay=config.get("relay"),
        manufacturer=config.get("manufacturer"),
        model=config.get("model"),
        source=source,
    )


def _check(raw: Any, profile: DeviceProfile, source: str) -> list[str]:
    """Return semantic mistakes (overlaps, unknown names) with file:line."""
    errors: list[str] = []
    names: set[str] = set()
    seen: dict[int, str] = {}
    for index, reg in enumerate(profile.registers):
        where = find_location(raw, ["registers", index]) or (source, 0)
        produced = [f.name for f in reg.fields] or [reg.name]
        for name in produced:
            if name in names:
                errors.append(f"{where[0]}:{where[1]}: name {name!r} is used twice")
            names.add(name)
        if reg.type == "bits" and not reg.fields:
            errors.append(f"{where[0]}:{where[1]}: register {reg.name!r} of type bits needs fields")
        if reg.type not in ("u8hi", "u8lo"):
            for address in range(reg.address, reg.end):
                if address in seen:
                    errors.append(f"{where[0]}:{where[1]}: register {reg.name!r} overlaps {seen[address]!r} "
                                  f"at 0x{address:04X}")
                    break
                seen[address] = reg.name
    if profile.state not in names:
        where = find_location(raw, ["state"]) or (source, 0)
        errors.append(f"{where[0]}:{where[1]}: state {profile.state!r} is not a register or field")
    if profile.clock:
        for part in CLOCK_PARTS:
            if profile.clock[part] not in names:
                where = find_location(raw, ["clock", part]) or (source, 0)
                errors.append(f"{where[0]}:{where[1]}: clock {part}: unknown register {profile.clock[part]!r}")
    return errors


def _path(path_or_name: str | Path) -> Path:
    candidate = Path(path_or_name)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        return candidate
    return PROFILES_DIR / f"{path_or_name}.yaml"


def load_profile(path_or_name: str | Path) -> DeviceProfile:
    """Load a profile file, or a shipped one by name ("dtsy1352", "adl400"); errors name file:line."""
    path = _path(path_or_name).resolve()
    raw = load_yaml(path, path.parent)
    source = path.name
    try:
        config = PROFILE_SCHEMA(raw)
    except vol.MultipleInvalid as err:
        raise ProfileError([_describe(raw, inner, source) for inner in err.errors]) from None
    profile = _build(config, str(path))
    if errors := _check(raw, profile, source):
        raise ProfileError(errors)
    return profile


def _describe(raw: Any, err: vol.Invalid, source: str) -> str:
    where = find_location(raw, list(err.path)) or (source, 0)
    path = ".".join(str(getattr(p, "schema", p)) for p in err.path)
    return f"{where[0]}:{where[1]}: {err.msg} (at {path or 'top level'})"


_CACHE: dict[str, DeviceProfile] = {}


def get_profile(name: str) -> DeviceProfile:
    """Return a shipped profile, loaded once per process."""
    if name not in _CACHE:
        _CACHE[name] = load_profile(name)
    return _CACHE[name]
