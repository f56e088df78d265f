"""The lines logged once the server runs: where to open it and how to log in."""
from __future__ import annotations

import contextlib
import ipaddress
import socket

from .http import LOOPBACK, WILDCARD_HOSTS, HttpServer

# A documentation address (TEST-NET-1): connecting a UDP socket to it sends nothing, yet the kernel picks the
# address this machine would reach the network from.
ROUTE_PROBE = ("192.0.2.1", 9)


def lan_addresses() -> list[str]:
    """Return this machine's IPv4 addresses other than loopback (its host name's, and the one of its route out)."""
    found: set[str] = set()
    with contextlib.suppress(OSError):
        found |= {str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(ROUTE_PROBE)
        found.add(str(probe.getsockname()[0]))
    return sorted((a for a in found if not ipaddress.ip_address(a).is_loopback), key=ipaddress.ip_address)


def base_urls(server: HttpServer) -> list[str]:
    """Return the base URLs that reach ``server``: its external_url, then each address it listens on."""
    hosts = [LOOPBACK, *lan_addresses()] if server.host in WILDCARD_HOSTS else [server.host]
    urls = [f"http://{f'[{host}]' if ':' in host else host}:{server.port}" for host in hosts]
    return [server.external_url, *urls] if server.external_url else urls


def welcome_lines(server: HttpServer) -> list[str]:
    """Return one line per page to open (each URL that reaches it) with how to log in there."""
    bases = base_urls(server)
    if not server.entry_points:
        return [f"Open {'  '.join(f'{base}/api/health' for base in bases)}"]
    return [
        f"{who}: {'  '.join(base + path for base in bases)}  ({login})"
        for who, path, login in server.entry_points
    ]
