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

``optional: true`` marks a register a meter of the model may lack (e.g. an address no manual confirms): it
is read on its own, and a meter answering "illegal address" for it stays online with the value unsupported.
"""
from __future__ import annotations

import datetime as dt
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from operator import itemgetter
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
        vol.Optional("optional", default=False): bool,
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

    def decoder(self) -> Callable[[int], Any]:
        """Return a function giving the field's value from the whole 16-bit register."""
        mask, shift = self.mask, self.shift
        if self.mapping is None:
            if mask == 1 << shift:
                return lambda raw: bool(raw & mask)
            return lambda raw: (raw & mask) >> shift
        get, default = self.mapping.get, self.default
        return lambda raw: get((raw & mask) >> shift, default)

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
    optional: bool = False  # a meter may lack it: read alone, never takes the meter offline

    @property
    def end(self) -> int:
        """First address after this register."""
        return self.address + self.width

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
    """One FC03 read: ``count`` registers from ``start``; ``optional`` if it holds only optional registers."""

    start: int
    count: int
    optional: bool = False

    @property
    def end(self) -> int:
        """First address after the block."""
        return self.start + self.count


def _decimals(scale: float) -> int | None:
    """Return the decimals a fractional scale implies (0.01 -> 2); None for integer scales."""
    if isinstance(scale, int):
        return None
    return len(f"{scale:.10f}".rstrip("0").split(".")[1])


# Results remembered per decoding step of a 16-bit value (bounds the memory a noisy value can take).
MEMO_SIZE = 1024
# struct code of each register type read as one value (big-endian words and bytes); raw has none.
_STRUCT_CODE = {"u16": "H", "s16": "h", "bits": "H", "u32": "I", "s32": "i", "u8hi": "B", "u8lo": "B"}


def _swap_words(raw: int) -> int:
    """Turn a 32-bit value read high word first into the low-word-first one."""
    return ((raw & 0xFFFF) << 16) | (raw >> 16)


def _sign32(raw: int) -> int:
    """Return the two's complement value of an unsigned 32-bit integer."""
    return raw - (1 << 32) if raw & 0x80000000 else raw


def _scaler(scale: float, decimals: int | None) -> Callable[[int], Any]:
    """Return raw × scale, rounded to the scale's decimals when it is fractional."""
    if decimals is None:
        return lambda raw: raw * scale
    return lambda raw: round(raw * scale, decimals)


def _chain(funcs: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    """Return one function applying ``funcs`` in turn."""
    if len(funcs) == 1:
        return funcs[0]
    return lambda value: reduce(lambda result, func: func(result), funcs, value)


class _Memo(dict[int, Any]):
    """Results of a function of one 16-bit register, remembered for the first MEMO_SIZE values seen."""

    __slots__ = ("_func",)

    def __init__(self, func: Callable[[int], Any]) -> None:
        super().__init__()
        self._func = func

    def __missing__(self, raw: int) -> Any:
        value = self._func(raw)
        if len(self) < MEMO_SIZE:
            self[raw] = value
        return value


class BlockDecoder:
    """Decode one block layout fast: one struct unpack of the words, then a few steps on the values.

    Every register wholly inside the block (and each bit field) becomes one output value, in the order of
    the profile. Registers are unpacked from the block's bytes by one ``struct`` format per layer of
    non-overlapping byte ranges; scales, word swaps and bit fields are small steps on single values.
    """

    __slots__ = ("_layers", "_pack", "_pad", "_pick", "_raws", "_steps", "has_clock", "names")

    def __init__(self, profile: DeviceProfile, start: int, count: int) -> None:
        end = start + count
        inside = [r for r in profile.registers if r.address >= start and r.end <= end]
        self._pack = struct.Struct(f">{count}H").pack
        # Byte ranges of the struct-read registers, greedily split into layers that do not overlap.
        layers: list[list[tuple[int, str, int]]] = []
        unpacked = [i for i, r in enumerate(inside) if r.type != "raw"]
        for position in sorted(unpacked, key=lambda i: _first_byte(inside[i], start)):
            reg = inside[position]
            first = _first_byte(reg, start)
            layer = next((lay for lay in layers if _byte_end(inside[lay[-1][2]], start) <= first), None)
            if layer is None:
                layer = []
                layers.append(layer)
            swapped = reg.type in ("u32", "s32") and reg.word_order != "big"
            layer.append((first, "I" if swapped else _STRUCT_CODE[reg.type], position))
        slot: dict[int, int] = {}  # position in ``inside`` -> index in the unpacked values
        formats = []
        for layer in layers:
            fmt, byte = ">", 0
            for first, code, position in layer:
                fmt += "x" * (first - byte) + code
                byte = _byte_end(inside[position], start)
                slot[position] = len(slot)
            formats.append(struct.Struct(fmt).unpack_from)
        self._layers = tuple(formats)
        self._pad = (None,) if any(r.type == "raw" for r in inside) else ()
        names: list[str] = []
        order: list[int] = []
        steps: list[tuple[int, Callable[[Any], Any]]] = []
        raws: list[tuple[int, int, int]] = []
        for position, reg in enumerate(inside):
            if reg.type == "raw":
                raws.append((len(names), reg.address - start, reg.width))
                order.append(len(slot))  # the None pad, replaced by the words
                names.append(reg.name)
                continue
            reg_steps: list[Callable[[Any], Any]] = []
            if reg.type in ("u32", "s32") and reg.word_order != "big":
                reg_steps.append(_swap_words)
                if reg.type == "s32":
                    reg_steps.append(_sign32)
            if reg.type != "bits" and not (reg.decimals is None and reg.scale == 1):
                reg_steps.append(_scaler(reg.scale, reg.decimals))
            outputs = [(f.name, [*reg_steps, f.decoder()]) for f in reg.fields] or [(reg.name, reg_steps)]
            for name, funcs in outputs:
                if funcs:
                    # 16-bit inputs take few distinct values: remember each result (round() is slow).
                    func = _chain(funcs)
                    steps.append((len(names), _Memo(func).__getitem__ if reg.width == 1 else func))
                names.append(name)
                order.append(slot[position])
        self.names = tuple(names)
        self._pick = _picker(order)
        self._steps = tuple(steps)
        self._raws = tuple(raws)
        self.has_clock = bool(profile.clock) and all(
            profile.clock[part] in self.names for part in CLOCK_PARTS  # type: ignore[index]
        )

    def __call__(self, words: list[int]) -> dict[str, Any]:
        """Return the values of the block's registers and bit fields, by name."""
        data = self._pack(*words)
        unpacked: tuple[Any, ...] = ()
        for unpack in self._layers:
            unpacked += unpack(data)
        values = list(self._pick(unpacked + self._pad))
        for index, step in self._steps:
            values[index] = step(values[index])
        for index, offset, width in self._raws:
            values[index] = list(words[offset : offset + width])
        return dict(zip(self.names, values))


def _picker(order: list[int]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """Return a function taking the items at ``order`` from a tuple, as a tuple."""
    if len(order) > 1:
        return itemgetter(*order)
    return lambda values: tuple(values[i] for i in order)


def _first_byte(reg: Register, start: int) -> int:
    """Return the register's first byte in the block (the low byte of a u8lo)."""
    return 2 * (reg.address - start) + (1 if reg.type == "u8lo" else 0)


def _byte_end(reg: Register, start: int) -> int:
    """Return the byte after the register's last one in the block."""
    return _first_byte(reg, start) + (1 if reg.type in ("u8hi", "u8lo") else 2 * reg.width)


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
    _decoders: dict[tuple[int, int], BlockDecoder] = field(default_factory=dict, repr=False)
    _clock_parts: Callable[[dict[str, Any]], tuple[Any, ...]] | None = field(default=None, repr=False)
    _touching: dict[tuple[int, int], tuple[Register, ...]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_name = {reg.name: reg for reg in self.registers}
        if self.clock:
            self._clock_parts = itemgetter(*(self.clock[part] for part in CLOCK_PARTS))

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

    def _decoder(self, start: int, count: int) -> BlockDecoder:
        decoder = self._decoders.get((start, count))
        if decoder is None:
            decoder = self._decoders[(start, count)] = BlockDecoder(self, start, count)
        return decoder

    def value_names(self, block: Block) -> tuple[str, ...]:
        """Return the names of the values (registers and bit fields) a read of ``block`` gives."""
        return self._decoder(block.start, block.count).names

    def decode(self, block_start: int, registers: list[int]) -> dict[str, Any]:
        """Decode every register (and bit field) wholly inside the block into attribute values."""
        decoder = self._decoder(block_start, len(registers))
        values = decoder(registers)
        if decoder.has_clock:
            values["meter_clock"] = self._clock(values)
        return values

    def _clock(self, values: dict[str, Any]) -> dt.datetime | None:
        year, month, day, hour, minute, second = map(int, self._clock_parts(values))  # type: ignore[misc]
        year += self.clock.get("year_base", 0)  # type: ignore[union-attr]
        try:
            return dt.datetime(year, month, day, hour, minute, second)
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
    """Merge registers not inside a fixed block into as few reads as the gap and size limits allow.

    Optional registers get reads of their own (a refusal must not cost the others), and no read of required
    registers spans one.
    """
    loose = sorted(
        (r for r in registers if not any(b.start <= r.address and r.end <= b.end for b in fixed)),
        key=lambda r: r.address,
    )
    optional = [r for r in loose if r.optional]
    avoid = {address for r in optional for address in range(r.address, r.end)}
    planned: list[Block] = list(fixed)
    planned += _merge_reads([r for r in loose if not r.optional], max_gap, max_count, avoid)
    planned += [Block(b.start, b.count, optional=True) for b in _merge_reads(optional, -1, max_count, set())]
    return sorted(planned, key=lambda b: b.start)


def _merge_reads(registers: list[Register], max_gap: int, max_count: int, avoid: set[int]) -> list[Block]:
    """Return reads covering sorted ``registers``, bridging gaps up to ``max_gap`` that hold no ``avoid``."""
    reads: list[Block] = []
    start = end = -1
    for reg in registers:
        if (
            start >= 0
            and reg.address - end <= max_gap
            and max(end, reg.end) - start <= max_count
            and avoid.isdisjoint(range(end, reg.address))
        ):
            end = max(end, reg.end)
            continue
        if start >= 0:
            reads.append(Block(start, end - start))
        start, end = reg.address, reg.end
    if start >= 0:
        reads.append(Block(start, end - start))
    return reads


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
                optional=item["optional"],
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
        if reg.optional and any(
            b.start < reg.end and reg.address < b.end for blocks in profile.blocks.values() for b in blocks
        ):
            errors.append(f"{where[0]}:{where[1]}: optional register {reg.name!r} lies in a block; "
                          "an optional register is read on its own")
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
