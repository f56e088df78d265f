"""Meters declare what they are: a new meter integration needs no change to the core or the web layer."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import yaml

from scada_core.bootstrap import async_from_config_dir
from scada_core.const import EVENT_METER_READING
from scada_core.loader import BUILTIN_DIR, discover
from web.directory import MeterDirectory

PROJECT = Path(__file__).resolve().parents[2]
ADMIN = {"id": "admin1", "role": "admin"}

# A meter integration written by someone else: it only publishes its readings and how it is billed.
ACME = '''"""A third-party meter integration, for the capability test."""
from scada_core.entity import Entity

DOMAIN = "acme_meter"


class AcmeMeter(Entity):
    """A meter that declares how it is billed."""

    def __init__(self, name: str, billing: str) -> None:
        super().__init__()
        self.entity_id = f"{DOMAIN}.{name}"
        self._attr_state = "ok"
        self._attr_extra_state_attributes = {"billing": billing, "total_wh": 1000}


async def async_setup(core, config):
    await core.async_add_entities([AcmeMeter("plain", "server"), AcmeMeter("prepaid", "meter")])
    return True
'''


def _imports(folder: Path) -> set[str]:
    """Return every module a package imports (absolute imports)."""
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
    return found


def _meter_drivers() -> set[str]:
    """Return the domain of every built-in integration that drives meters: those built on the profile meter
    (integrations.modbus.profile_meter), directly or through another driver (read from their imports)."""
    builtin = [name for name in discover() if (BUILTIN_DIR / name).is_dir() and name != "modbus"]
    imports = {name: _imports(BUILTIN_DIR / name) for name in builtin}
    drivers = {name for name, used in imports.items() if "integrations.modbus.profile_meter" in used}
    while more := {
        name for name, used in imports.items() if any(m.split(".")[1] in drivers for m in used if m.count(".") >= 1
                                                      and m.startswith("integrations."))
    } - drivers:
        drivers |= more
    return drivers


def _strings_in_code(path: Path) -> list[tuple[int, str]]:
    """Return the string constants of a module that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_core_or_web_module_names_a_driver_domain() -> None:
    """Nothing under scada_core/ or web/ decides by a meter driver's domain name (meters declare themselves)."""
    domains = _meter_drivers()
    assert {"acrel_dtsy1352", "modbus_meter"} <= domains
    found = []
    for folder in ("scada_core", "web"):
        for path in sorted((PROJECT / folder).rglob("*.py")):
            for line, text in _strings_in_code(path):
                if any(text == d or text.startswith(f"{d}.") for d in domains):
                    found.append(f"{path.relative_to(PROJECT)}:{line}: {text!r}")
    assert not found, "driver domains named in core/web code:\n" + "\n".join(found)


async def test_a_new_meter_integration_is_listed_and_billed_by_what_it_declares(tmp_path: Path) -> None:
    """A custom integration's entities with billing: server / meter are meters to the grid, to the status list
    and to billing, and the server-side one is charged from its readings."""
    folder = tmp_path / "custom_integrations" / "acme_meter"
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(
        "domain: acme_meter\nname: Acme meter\nversion: '1'\ndependencies: []\n", encoding="utf-8"
    )
    (folder / "__init__.py").write_text(ACME, encoding="utf-8")
    config = {
        "core": {"time_zone": "Asia/Shanghai"},
        "http": {"port": 0},
        "recorder": {"db_url": f"sqlite:///{tmp_path / 'acme.db'}", "commit_interval": 0.05},
        "acme_meter": {},
        "billing": {"buildings": {"b1": {"meters": ["*"], "tariff": {"kind": "flat", "price": "1.00"}}}},
    }
    (tmp_path / "configuration.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    core = await async_from_config_dir(tmp_path)
    try:
        billing = core.data["billing"]
        plain, prepaid = "acme_meter.plain", "acme_meter.prepaid"
        assert MeterDirectory(core).meter_ids() == [plain, prepaid]
        assert [s["entity_id"] for s in await billing.meter_statuses()] == [plain, prepaid]
        assert (billing.mode_of(plain), billing.mode_of(prepaid)) == ("server", "meter")

        account = await billing.open_account("Acme 租户", [plain], ADMIN)
        await billing.sell(plain, 5000, "cash", "acme-1", ADMIN)
        ts = core.clock.timestamp()
        core.bus.async_fire(EVENT_METER_READING, {"entity_id": plain, "ts": ts, "total_wh": 1000})
        core.bus.async_fire(EVENT_METER_READING, {"entity_id": plain, "ts": ts + 60, "total_wh": 3000})
        for _ in range(200):
            summary = await billing.account_summary(account["id"])
            if summary["wallet_fen"] < 5000:
                break
            await asyncio.sleep(0.02)
        assert summary["wallet_fen"] == 5000 - 200, "2 kWh at 1.00 yuan charged to the wallet"
    finally:
        await core.async_stop()
