"""Find integrations by their manifest and set them up after their dependencies."""
from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from .const import CUSTOM_INTEGRATIONS_DIR, EVENT_COMPONENT_LOADED, MANIFEST_FILE, MIGRATIONS_FOLDER
from .exceptions import ConfigError, DependencyError, IntegrationNotFound
from .yaml_loader import load_yaml

if TYPE_CHECKING:
    from .core import Core

_LOGGER = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
BUILTIN_DIR = PROJECT_DIR / "integrations"
# Packages outside integrations/ that are integrations too (the web layer sits beside the core, not inside it;
# the tenant pages join the top-up providers registered with `topup`, with or without the staff web).
TOP_LEVEL_INTEGRATIONS = ("web", "web/tenant")

MANIFEST_SCHEMA = vol.Schema(
    {
        vol.Required("domain"): vol.Match(r"^[a-z0-9_]+$"),
        vol.Required("name"): str,
        vol.Required("version"): vol.Coerce(str),
        vol.Optional("dependencies", default=[]): [str],
        vol.Optional("after_dependencies", default=[]): [str],
        vol.Optional("simulators", default={}): {str: str},
        # the module whose ``async_seed(config_dir)`` gives a configuration demo data (``openprepay demo seed``)
        vol.Optional("demo_seed"): vol.Match(r"^[a-z0-9_]+$"),
        vol.Optional("documentation"): str,
        vol.Optional("requirements", default=[]): [str],
        # True for an integration that authenticates every HTTP request (allows listening beyond loopback).
        vol.Optional("http_auth", default=False): bool,
    }
)


@dataclass
class Integration:
    """An integration folder: its manifest and, once imported, its module."""

    domain: str
    name: str
    version: str
    path: Path
    package: str
    dependencies: list[str] = field(default_factory=list)
    after_dependencies: list[str] = field(default_factory=list)
    simulators: dict[str, str] = field(default_factory=dict)
    demo_seed: str | None = None
    http_auth: bool = False
    _module: ModuleType | None = None

    def get_module(self) -> ModuleType:
        """Import and return the integration's package."""
        if self._module is None:
            self._module = importlib.import_module(self.package)
        return self._module

    def get_submodule(self, name: str) -> ModuleType:
        """Import and return ``<integration>.<name>``."""
        return importlib.import_module(f"{self.package}.{name}")

    @property
    def migrations(self) -> Path | None:
        """Return the folder of the integration's own Alembic revisions, or None when it has none."""
        folder = self.path / MIGRATIONS_FOLDER
        return folder if folder.is_dir() else None

    @property
    def config_schema(self) -> vol.Schema | None:
        """Return the CONFIG_SCHEMA of the integration, if it declares one."""
        return getattr(self.get_module(), "CONFIG_SCHEMA", None)


def _read_manifest(folder: Path, package: str) -> Integration:
    manifest_path = folder / MANIFEST_FILE
    raw = load_yaml(manifest_path, folder.parent)
    try:
        manifest = MANIFEST_SCHEMA(raw)
    except vol.Invalid as err:
        raise ConfigError([f"{manifest_path}: invalid manifest: {err}"]) from None
    if manifest["domain"] != folder.name:
        raise ConfigError([f"{manifest_path}: domain {manifest['domain']!r} differs from folder {folder.name!r}"])
    return Integration(
        domain=manifest["domain"],
        name=manifest["name"],
        version=manifest["version"],
        path=folder,
        package=package,
        dependencies=manifest["dependencies"],
        after_dependencies=manifest["after_dependencies"],
        simulators=manifest["simulators"],
        demo_seed=manifest.get("demo_seed"),
        http_auth=manifest["http_auth"],
    )


def discover(config_dir: Path | None = None) -> dict[str, Integration]:
    """Return every integration by domain; custom ones override built-in ones."""
    found: dict[str, Integration] = {}
    for folder in sorted(BUILTIN_DIR.iterdir()) if BUILTIN_DIR.is_dir() else []:
        if (folder / MANIFEST_FILE).is_file():
            found[folder.name] = _read_manifest(folder, f"integrations.{folder.name}")
    for name in TOP_LEVEL_INTEGRATIONS:
        folder = PROJECT_DIR / name
        if (folder / MANIFEST_FILE).is_file():
            found[folder.name] = _read_manifest(folder, name.replace("/", "."))
    custom = config_dir / CUSTOM_INTEGRATIONS_DIR if config_dir else None
    if custom is not None and custom.is_dir():
        if str(config_dir) not in sys.path:
            sys.path.insert(0, str(config_dir))
        for folder in sorted(custom.iterdir()):
            if (folder / MANIFEST_FILE).is_file():
                found[folder.name] = _read_manifest(folder, f"{CUSTOM_INTEGRATIONS_DIR}.{folder.name}")
    return found


def resolve_order(domains: list[str], available: dict[str, Integration]) -> list[str]:
    """Return ``domains`` plus their dependencies, each after what it depends on."""
    order: list[str] = []
    visiting: list[str] = []

    def visit(domain: str, wanted_by: str | None) -> None:
        if domain in order:
            return
        if domain in visiting:
            cycle = " -> ".join([*visiting[visiting.index(domain):], domain])
            raise DependencyError(f"dependency cycle: {cycle}")
        if domain not in available:
            if wanted_by:
                raise DependencyError(f"integration {wanted_by!r} depends on {domain!r}, which does not exist")
            raise IntegrationNotFound(f"unknown integration {domain!r}")
        visiting.append(domain)
        integration = available[domain]
        for dep in integration.dependencies:
            visit(dep, domain)
        for dep in integration.after_dependencies:
            if dep in domains:
                visit(dep, domain)
        visiting.pop()
        order.append(domain)

    for domain in domains:
        visit(domain, None)
    return order


async def async_setup_integration(core: Core, integration: Integration, config: dict[str, Any]) -> bool:
    """Run the integration's ``async_setup``; on failure log it, note why in core.config, return False."""
    module = integration.get_module()
    setup = getattr(module, "async_setup", None)
    if setup is None:
        return _failed(core, integration.domain, "it has no async_setup")
    try:
        ok = await setup(core, config)
    except Exception as err:  # noqa: BLE001 - one broken integration must not stop the others
        _LOGGER.exception("Setup failed for %s", integration.domain)
        reason = core.db.explain(err) if core.db is not None and core.db.caused(err) else first_line(err)
        core.config.failed_components[integration.domain] = f"setup failed: {reason}"
        return False
    if ok is not True:
        return _failed(core, integration.domain, f"async_setup returned {ok!r}")
    core.config.components.add(integration.domain)
    core.bus.async_fire(EVENT_COMPONENT_LOADED, {"domain": integration.domain})
    return True


def _failed(core: Core, domain: str, reason: str) -> bool:
    _LOGGER.error("Setup failed for %s: %s", domain, reason)
    core.config.failed_components[domain] = f"setup failed: {reason}"
    return False


def first_line(err: BaseException, limit: int = 300) -> str:
    """Return the first line of an error's text (its type when it has none), at most ``limit`` characters."""
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:limit]
