"""Configuration-wide checks after every section's schema: cross-references, files and listening ports.

An integration may define two hooks in its package, run by ``load_config`` (so ``check-config`` and ``run``
refuse the same configurations) once every section has passed its ``CONFIG_SCHEMA``:

- ``declare_config(context, config)`` says what its section provides: entities (with the data schemas of
  the services others may call on them) and the TCP ports it listens on;
- ``validate_config(context, config)`` checks its section against what every section declared, and files.

Both report mistakes with ``context.error(path, message)``, ``path`` being the keys from the top of
configuration.yaml, so each reads ``file:line: key -> path: problem``.
"""
from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from .yaml_loader import describe, find_location

if TYPE_CHECKING:
    from .loader import Integration

_LOGGER = logging.getLogger(__name__)

HOOK_DECLARE = "declare_config"
HOOK_VALIDATE = "validate_config"
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::"})  # noqa: S104 - "every interface": overlaps any address

NON_EMPTY = vol.All(str, vol.Strip, vol.Length(min=1, msg="must not be empty"))
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(value: Any) -> float:
    """Accept a duration as seconds or a number with a unit (30s, 15m, 12h, 1d); return seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", value)):
        seconds = float(match[1]) * DURATION_UNITS[match[2]]
    else:
        raise vol.Invalid(f"expected seconds or a number with a unit s, m, h or d (e.g. 1d), got {value!r}")
    if seconds <= 0:
        raise vol.Invalid("must be more than 0")
    return seconds


@dataclass
class DeclaredEntity:
    """An entity a section will create, where it is declared, and the data schemas of its services."""

    entity_id: str
    path: list[Any]
    services: dict[str, vol.Schema] = field(default_factory=dict)


@dataclass
class Listener:
    """A TCP port a section will listen on."""

    host: str
    port: int
    path: list[Any]


class ConfigContext:
    """What the hooks see: every validated section, the declarations, and the errors found so far."""

    def __init__(self, config_dir: Path, raw: Any, sections: dict[str, Any]) -> None:
        self.config_dir = config_dir
        self.raw = raw
        self.sections = sections
        self.entities: dict[str, DeclaredEntity] = {}
        self.listeners: list[Listener] = []
        self.errors: list[str] = []

    def error(self, path: list[Any], message: str) -> None:
        """Report a mistake at ``path`` (keys from the top of configuration.yaml)."""
        self.errors.append(describe(self.raw, path, message))

    def path(self, name: str) -> Path:
        """Return a file named in the configuration: absolute, or relative to the configuration directory."""
        return self.config_dir / name

    def require_file(self, path: list[Any], name: str) -> None:
        """Report ``name`` at ``path`` unless it is an existing file."""
        if not self.path(name).is_file():
            self.error(path, f"file {name} not found (relative to {self.config_dir})")

    def require_folder_of(self, path: list[Any], name: str) -> None:
        """Report ``name`` at ``path`` unless the folder it is to be written in exists."""
        folder = self.path(name).parent
        if not folder.is_dir():
            self.error(path, f"folder {folder} for {name} does not exist")

    def declare_entity(
        self, entity_id: str, path: list[Any], services: dict[str, vol.Schema] | None = None
    ) -> None:
        """Declare an entity the configuration creates (the same id twice is a mistake)."""
        if entity_id in self.entities:
            self.error(path, f"entity {entity_id} is declared twice")
            return
        self.entities[entity_id] = DeclaredEntity(entity_id, path, services or {})

    def listen(self, host: str, port: int, path: list[Any]) -> None:
        """Declare a TCP port the configuration listens on (0 picks a free one and is never checked)."""
        self.listeners.append(Listener(host, port, path))


def check_configuration(
    config_dir: Path,
    raw: Any,
    sections: dict[str, Any],
    integrations: dict[str, Integration],
    order: list[str],
    *,
    probe_ports: bool = True,
) -> tuple[list[str], list[str]]:
    """Run every hook and the port checks (the binding ones when ``probe_ports``); return (errors, the host:port
    probed)."""
    context = ConfigContext(config_dir, raw, sections)
    http = sections["http"]
    context.listen(http["host"], http["port"], ["http", "port"])
    _run_hooks(context, integrations, order, HOOK_DECLARE)
    probed = _check_listeners(context, probe_ports)
    _run_hooks(context, integrations, order, HOOK_VALIDATE)
    return context.errors, probed


def _run_hooks(
    context: ConfigContext, integrations: dict[str, Integration], order: list[str], name: str
) -> None:
    for domain in order:
        hook: Callable[[ConfigContext, Any], None] | None = getattr(
            integrations[domain].get_module(), name, None
        )
        if hook is None:
            continue
        try:
            hook(context, context.sections[domain])
        except Exception as err:  # noqa: BLE001 - a broken (custom) integration's check is a config error
            _LOGGER.debug("%s.%s failed", domain, name, exc_info=True)
            context.error([domain], f"cannot check the configuration of {domain}: {err!r}")


def _place(raw: Any, path: list[Any]) -> str:
    location = find_location(raw, path)
    keys = " -> ".join(str(key) for key in path)
    return f"{keys} ({location[0]}:{location[1]})" if location else keys


def _overlap(a: set[str], b: set[str]) -> bool:
    return bool(a & b or (a | b) & WILDCARD_ADDRESSES)


def _check_listeners(context: ConfigContext, probe: bool) -> list[str]:
    """Refuse a port declared twice, then (``probe``) try each by binding it briefly; return the ports probed."""
    seen: list[tuple[Listener, set[str]]] = []
    probed: list[str] = []
    for listener in context.listeners:
        host, port = listener.host, listener.port
        if not port:
            continue
        try:
            addresses = socket.getaddrinfo(
                host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except socket.gaierror as err:
            problem = f"cannot listen on {host}:{port}: host {host!r} does not resolve ({err.strerror})"
            context.error(listener.path, problem)
            continue
        ips = {str(address[4][0]) for address in addresses}
        other = next(
            (known for known, known_ips in seen if known.port == port and _overlap(ips, known_ips)), None
        )
        if other is not None:
            context.error(listener.path, f"port {port} is already used by {_place(context.raw, other.path)}")
            continue
        seen.append((listener, ips))
        if not probe:
            continue
        probed.append(f"{host or '*'}:{port}")
        if (problem := _probe(addresses, port)) is not None:
            context.error(listener.path, problem)
    return probed


def _probe(addresses: list[tuple[Any, ...]], port: int) -> str | None:
    """Bind each address briefly, as the server will (SO_REUSEADDR); return why one cannot be, or None."""
    for family, kind, proto, _name, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as err:
                return (
                    f"cannot listen on {address[0]}:{port}: {err.strerror} "
                    "(another program holds it; checked by binding it briefly)"
                )
    return None
