"""The wiring workbook: two sheets (通讯管理机 / gateways, 电表 / meters), its template, export and dry run.

A dry run names every problem by sheet, row, column and reason (zh-CN and English); a row that matches what is
already in force (from YAML or an earlier import) is unchanged and skipped, so an export imports back cleanly;
an imported meter's row that differs edits it (moved to another bus or address, another category or tariff).
"""
from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from openpyxl import Workbook, load_workbook

from scada_core.reports.cells import looks_like_formula

from .const import TYPE_RTU_OVER_TCP, TYPE_SERIAL, TYPE_TCP
from .schema import SLUG
from .wiring import METER_FIELDS, gateway_conf

if TYPE_CHECKING:
    from .wiring import Wiring

SHEET_GATEWAYS = "通讯管理机 gateways"
SHEET_METERS = "电表 meters"
# (key, Chinese header); a header cell reads "中文 key" and is matched by its last word.
GATEWAY_COLUMNS = (("name", "名称"), ("label", "显示名称"), ("type", "模式"), ("host", "主机"), ("port", "端口"),
                   ("baudrate", "波特率"), ("source", "来源"))
METER_COLUMNS = (("name", "表名"), ("model", "型号"), ("bus", "总线"), ("address", "地址"), ("building", "楼栋"),
                 ("floor", "楼层"), ("room", "房间"), ("label", "显示名称"), ("category", "用电性质"),
                 ("tariff", "初始电价"), ("source", "来源"))
SOURCE_YAML = "yaml"
SOURCE_IMPORTED = "imported"
MAX_ROWS = 5000
MAX_BYTES = 4 * 1024 * 1024
MAX_CELL = 128
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
TYPES = (TYPE_RTU_OVER_TCP, TYPE_TCP, TYPE_SERIAL)
EXAMPLE_GATEWAY = {"name": "ss1", "label": "1号串口服务器", "type": TYPE_RTU_OVER_TCP, "host": "192.168.1.201",
                   "port": 5021, "baudrate": 9600}
EXAMPLE_METER = {"name": "b1_f2_0201", "model": "dtsy1352", "bus": "ss1", "address": 1, "building": "",
                 "floor": "2F", "room": "0201", "label": "", "category": "", "tariff": "0.8"}
NAME_MAX = 64
PLACE_MAX = {"floor": 32, "room": 64, "label": 128, "category": 64, "building": 64}


class SheetError(ValueError):
    """The upload is not a wiring workbook at all (zh-CN, en)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


@dataclass
class Plan:
    """A checked workbook: its rows, every problem, and what applying it would add."""

    gateways: list[dict[str, Any]]
    meters: list[dict[str, Any]]
    problems: list[dict[str, Any]] = field(default_factory=list)
    new_gateways: list[dict[str, Any]] = field(default_factory=list)
    new_meters: list[dict[str, Any]] = field(default_factory=list)
    changed_gateways: list[dict[str, Any]] = field(default_factory=list)  # imported before: moved in place
    changed_meters: list[dict[str, Any]] = field(default_factory=list)  # imported before, edited in this sheet

    def problem(self, sheet: str, row: dict[str, Any], column: str, zh: str, en: str) -> None:
        """Name one problem by sheet, row and column."""
        self.problems.append({"sheet": sheet, "row": row["line"], "column": column, "zh": zh, "en": en})


def header(columns: tuple[tuple[str, str], ...], key: str) -> str:
    """Return the header cell of column ``key``."""
    return next(f"{zh} {k}" for k, zh in columns if k == key)


def workbook(gateways: list[dict[str, Any]], meters: list[dict[str, Any]]) -> bytes:
    """Return the workbook of these rows (the template when given the examples)."""
    book = Workbook()
    for index, (title, columns, rows) in enumerate(((SHEET_GATEWAYS, GATEWAY_COLUMNS, gateways),
                                                     (SHEET_METERS, METER_COLUMNS, meters))):
        sheet = book.active if index == 0 else book.create_sheet()
        sheet.title = title
        sheet.append([f"{zh} {key}" for key, zh in columns])
        for row in rows:
            sheet.append([row.get(key, "") for key, _zh in columns])
            for cell in sheet[sheet.max_row]:
                if looks_like_formula(cell.value):
                    cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template() -> bytes:
    """Return the empty template: headers and one example row a sheet."""
    return workbook([EXAMPLE_GATEWAY], [EXAMPLE_METER])


def parse(content: bytes) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Read both sheets into rows of text keyed by column (``line``: the sheet's row number)."""
    if len(content) > MAX_BYTES:
        raise SheetError(f"文件过大（上限 {MAX_BYTES // 1024 // 1024} MB）", f"file too large (at most {MAX_BYTES // 1024 // 1024} MB)")
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise SheetError("不是 Excel 工作簿（.xlsx）", "not an Excel workbook (.xlsx)") from None
    sheets = {}
    try:
        for wanted, columns in ((SHEET_GATEWAYS, GATEWAY_COLUMNS), (SHEET_METERS, METER_COLUMNS)):
            sheet = next((book[name] for name in book.sheetnames if set(name.split()) & set(wanted.split())), None)
            if sheet is None:
                raise SheetError(f"缺少工作表「{wanted}」", f"the workbook has no sheet {wanted!r}")
            sheets[wanted] = _rows(sheet, columns, wanted)
    finally:
        book.close()
    return sheets[SHEET_GATEWAYS], sheets[SHEET_METERS]


def _rows(sheet: Any, columns: tuple[tuple[str, str], ...], title: str) -> list[dict[str, str]]:
    lines = sheet.iter_rows(values_only=True)
    first = next(lines, None) or ()
    keys = [str(cell).split()[-1].lower() if cell is not None and str(cell).split() else "" for cell in first]
    missing = [f"{zh} {key}" for key, zh in columns if key not in keys and key != "source"]
    if missing:
        raise SheetError(f"工作表「{title}」缺少列：{'、'.join(missing)}", f"sheet {title!r} lacks columns: {', '.join(missing)}")
    rows = []
    for number, line in enumerate(lines, start=2):
        cells = {key: _text(value) for key, value in zip(keys, line, strict=False) if key}
        if not any(cells.values()):
            continue
        if len(rows) >= MAX_ROWS:
            raise SheetError(f"工作表「{title}」超过 {MAX_ROWS} 行", f"sheet {title!r} has more than {MAX_ROWS} rows")
        rows.append({"line": number, **{key: cells.get(key, "") for key, _zh in columns}})
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def export(wiring: Wiring, places: dict[str, dict[str, str]]) -> bytes:
    """Return the wiring in force (YAML and imported, marked) in the template's shape."""
    gateways = []
    for gateway in wiring.hub.gateways:
        stored = wiring.gateways.get(gateway.name)
        row = stored or _yaml_gateway(gateway)
        port = int(row["port"]) if str(row["port"]).isdigit() else row["port"]
        gateways.append({**row, "port": port, "source": SOURCE_IMPORTED if stored else SOURCE_YAML})
    meters = []
    for entity_id, device in sorted(wiring.hub.devices.items()):
        stored = wiring.meters.get(entity_id)
        place = places.get(entity_id, {})
        row = stored or {"name": device.name, "model": getattr(getattr(device, "profile", None), "name", ""), "bus": device.bus.name,
                         "address": device.address}
        meters.append({**row, **{k: place.get(k, "") for k in ("floor", "room", "label")},
                       "building": (stored or {}).get("building") or place.get("building", ""),
                       "source": SOURCE_IMPORTED if stored else SOURCE_YAML})
    return workbook(gateways, meters)


def _yaml_gateway(gateway: Any) -> dict[str, Any]:
    conf = gateway.conf
    return {"name": gateway.name, "label": conf.get("label"), "type": gateway.kind, "host": conf.get("host"),
            "port": conf.get("port"), "baudrate": conf.get("baudrate")}


@dataclass(frozen=True)
class SiteFacts:
    """What billing knows that a meter row names: the buildings (id -> name), the one billing's meter patterns
    put an entity in, and the load categories (用电性质, key -> name)."""

    names: dict[str, str]
    of: Callable[[str], str] | None = None
    categories: dict[str, str] = field(default_factory=dict)

    def resolve(self, text: str) -> str | None:
        """Return the building id a cell names by id or name; None when none matches."""
        return _by_key_or_name(self.names, text)

    def category(self, text: str) -> str | None:
        """Return the load category a cell names by key or name; None when none matches."""
        return _by_key_or_name(self.categories, text)


def _by_key_or_name(names: dict[str, str], text: str) -> str | None:
    """Return the key a cell names, by the key itself or its name."""
    if text in names:
        return text
    return next((key for key, name in names.items() if name == text), None)


def check(wiring: Wiring, gateways: list[dict[str, str]], meters: list[dict[str, str]],
          facts: SiteFacts) -> Plan:
    """Check every row against the sheet itself and the wiring in force; nothing is applied."""
    plan = Plan(gateways, meters)
    new_buses: set[str] = set()
    seen_gateways: set[str] = set()
    for row in gateways:
        gateway = _check_gateway(plan, wiring, row, seen_gateways)
        if gateway is not None and gateway["name"] in wiring.gateways:
            plan.changed_gateways.append(gateway)
        elif gateway is not None:
            plan.new_gateways.append(gateway)
            new_buses.add(gateway["name"])
    taken = {(d.bus.name, d.address): d.entity_id for d in wiring.hub.devices.values()}
    seen_names: set[str] = set()
    for row in meters:
        meter = _check_meter(plan, wiring, row, new_buses, facts, taken, seen_names)
        if meter is not None:
            plan.new_meters.append(meter)
    return plan


def _check_gateway(plan: Plan, wiring: Wiring, row: dict[str, str], seen: set[str]) -> dict[str, Any] | None:
    col = lambda key: header(GATEWAY_COLUMNS, key)  # noqa: E731 - a local shorthand
    before = len(plan.problems)
    if not _texts_ok(plan, SHEET_GATEWAYS, row, GATEWAY_COLUMNS):
        return None
    name = _check_name(plan, SHEET_GATEWAYS, row, col("name"), seen)
    if row["type"] not in TYPES:
        plan.problem(SHEET_GATEWAYS, row, col("type"), f"未知模式，可选：{'、'.join(TYPES)}",
                     f"unknown mode; one of {', '.join(TYPES)}")
    baud = _int(row["baudrate"] or "9600")
    if baud not in BAUDRATES:
        plan.problem(SHEET_GATEWAYS, row, col("baudrate"), f"波特率无效，可选：{', '.join(map(str, BAUDRATES))}",
                     f"bad baud rate; one of {', '.join(map(str, BAUDRATES))}")
    if row["type"] in (TYPE_RTU_OVER_TCP, TYPE_TCP):
        port = _int(row["port"])
        if port is None or not 1 <= port <= 65535:
            plan.problem(SHEET_GATEWAYS, row, col("port"), "端口应为 1–65535", "port must be 1 to 65535")
        if not row["host"]:
            plan.problem(SHEET_GATEWAYS, row, col("host"), "缺少主机地址", "host is missing")
    elif row["type"] == TYPE_SERIAL and not row["port"].startswith("/dev/"):
        plan.problem(SHEET_GATEWAYS, row, col("port"), "串口应为设备路径，如 /dev/ttyUSB0",
                     "a serial port is a device path, e.g. /dev/ttyUSB0")
    if len(plan.problems) > before:
        return None
    wanted = {"name": name, "label": row["label"] or None, "type": row["type"], "host": row["host"] or None,
              "port": row["port"], "baudrate": baud}
    if name in wiring.yaml_gateways or (name in wiring.hub.buses and name not in wiring.gateways):
        if row["source"] != SOURCE_YAML:
            plan.problem(SHEET_GATEWAYS, row, col("name"), "配置文件（YAML）已声明此通讯管理机，在此只读",
                         "YAML declares this gateway; it is read-only here")
        return None
    if wiring.gateways.get(name) == wanted:
        return None
    try:
        gateway_conf(wanted)
    except vol.Invalid as err:
        plan.problem(SHEET_GATEWAYS, row, col("name"), f"配置无效：{err}", f"invalid: {err}")
        return None
    return wanted


def _check_meter(plan: Plan, wiring: Wiring, row: dict[str, str], new_buses: set[str], facts: SiteFacts,
                 taken: dict[tuple[str, int], str], seen_names: set[str]) -> dict[str, Any] | None:
    col = lambda key: header(METER_COLUMNS, key)  # noqa: E731 - a local shorthand
    before = len(plan.problems)
    if not _texts_ok(plan, SHEET_METERS, row, METER_COLUMNS):
        return None
    name = _check_name(plan, SHEET_METERS, row, col("name"), seen_names)
    model = wiring.models.get(row["model"])
    if model is None:
        known = "、".join(sorted(wiring.models)) or "—"
        plan.problem(SHEET_METERS, row, col("model"), f"未知型号（可选：{known}）", f"unknown model (known: {known})")
    if row["bus"] not in wiring.hub.buses and row["bus"] not in new_buses:
        plan.problem(SHEET_METERS, row, col("bus"), "未知总线：不在配置中，也不在通讯管理机表中",
                     "unknown bus: neither configured nor in the gateways sheet")
    address = _int(row["address"])
    if address is None or not 1 <= address <= 247:
        plan.problem(SHEET_METERS, row, col("address"), "地址应为 1–247", "address must be 1 to 247")
    building = facts.resolve(row["building"]) if row["building"] else None
    if row["building"] and building is None:
        known = ", ".join(sorted(facts.names)) or "—"
        plan.problem(SHEET_METERS, row, col("building"), f"未知楼栋（可选：{known}）",
                     f"unknown building (known: {known})")
    elif building and model is not None and facts.of is not None \
            and (billed := facts.of(f"{model.domain}.{name}")) != building:
        plan.problem(SHEET_METERS, row, col("building"),
                     f"按计费配置的表计规则，此表属于楼栋 {billed}；请改表名或在配置中调整该楼栋的 meters 规则",
                     f"billing's meter patterns put this meter in building {billed}; rename it or change that "
                     "building's meters: patterns in the configuration")
    category = facts.category(row["category"]) if row["category"] else None
    if row["category"] and category is None:
        known = "、".join(facts.categories.values()) or "—"
        plan.problem(SHEET_METERS, row, col("category"), f"未知用电性质（可选：{known}）",
                     f"unknown load category (known: {known})")
    tariff = _price(row["tariff"])
    if row["tariff"] and tariff is None:
        plan.problem(SHEET_METERS, row, col("tariff"), "初始电价应为 0–100 元/kWh，至多 4 位小数",
                     "initial tariff must be 0 to 100 yuan/kWh with at most 4 decimals")
    if len(plan.problems) > before or model is None or address is None:
        return None
    entity_id = f"{model.domain}.{name}"
    stored = wiring.meters.get(entity_id)
    wanted = {"name": name, "model": row["model"], "bus": row["bus"], "address": address,
              "building": building, "category": category, "tariff": tariff,
              "floor": row["floor"], "room": row["room"], "label": row["label"]}
    if entity_id in wiring.core.entities and stored is None:
        if row["source"] != SOURCE_YAML:
            plan.problem(SHEET_METERS, row, col("name"), "配置文件（YAML）已声明此电表，在此只读",
                         "YAML declares this meter; it is read-only here")
        return None
    if stored is not None and stored["model"] != row["model"]:
        plan.problem(SHEET_METERS, row, col("model"), "已导入同名电表且型号不同；请先删除",
                     "a meter of this name was imported as another model; remove it first")
        return None
    holder = taken.get((row["bus"], address))
    if holder is not None and holder != entity_id:
        plan.problem(SHEET_METERS, row, col("address"), f"总线 {row['bus']} 上的地址 {address} 已被 {holder} 占用",
                     f"address {address} on bus {row['bus']} is taken by {holder}")
        return None
    if stored is not None and taken.get((stored["bus"], stored["address"])) == entity_id:
        del taken[(stored["bus"], stored["address"])]  # a moved meter frees its old address for later rows
    taken[(row["bus"], address)] = entity_id
    if stored is None:
        return wanted
    if any(stored[key] != wanted[key] for key in METER_FIELDS):
        plan.changed_meters.append(wanted)  # edited: moved, or another building, category or tariff
    return None


def _check_name(plan: Plan, sheet: str, row: dict[str, str], column: str, seen: set[str]) -> str:
    """Refuse a name that is no entity-id-safe slug or that the sheet uses twice; return it."""
    name = row["name"]
    if not SLUG.match(name) or len(name) > NAME_MAX:
        plan.problem(sheet, row, column, f"名称只能用小写字母、数字和 _（至多 {NAME_MAX} 个）",
                     f"use lowercase letters, digits and _ (at most {NAME_MAX})")
    elif name in seen:
        plan.problem(sheet, row, column, "名称在本表中重复", "name used twice in this sheet")
    seen.add(name)
    return name


def _texts_ok(plan: Plan, sheet: str, row: dict[str, str], columns: tuple[tuple[str, str], ...]) -> bool:
    """Refuse huge cells and non-ASCII where only ASCII is meaningful (everything but the people's text)."""
    ok = True
    for key, _zh in columns:
        value = row[key]
        limit = PLACE_MAX.get(key, MAX_CELL)
        if len(value) > limit:
            plan.problem(sheet, row, header(columns, key), f"过长（至多 {limit} 个字符）", f"too long (at most {limit} characters)")
            ok = False
        elif key not in PLACE_MAX and not value.isascii() and key != "label":
            plan.problem(sheet, row, header(columns, key), "只能用英文字母、数字和符号", "use ASCII letters, digits and signs only")
            ok = False
    return ok


def _int(text: str) -> int | None:
    return int(text) if re.fullmatch(r"\d{1,6}", text) else None


def _price(text: str) -> str | None:
    try:
        price = Decimal(text)
    except InvalidOperation:
        return None
    if not price.is_finite() or not 0 <= price <= 100 or price.as_tuple().exponent < -4:  # type: ignore[operator]
        return None
    return str(price)
