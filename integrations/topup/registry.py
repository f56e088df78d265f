"""The providers set up, by name (``core.data['topup']``): they register, the tenant pages list them."""
from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .provider import TopUpProvider

# Told of each provider as it registers, with its configuration section (the tenant site joins it this way).
Listener = Callable[[TopUpProvider, Mapping[str, Any]], Awaitable[None]]


class TopUpRegistry:
    """Providers in the order they registered (the first is the default), and who listens for new ones."""

    def __init__(self) -> None:
        self._providers: dict[str, TopUpProvider] = {}
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        """Call ``listener`` for every provider that registers from now on."""
        self._listeners.append(listener)

    async def async_register(self, provider: TopUpProvider, config: Mapping[str, Any]) -> None:
        """Add ``provider`` (refused when its name is taken) and tell the listeners."""
        if provider.name in self._providers:
            raise ValueError(f"top-up provider {provider.name!r} is registered already")
        self._providers[provider.name] = provider
        for listener in self._listeners:
            await listener(provider, config)

    def get(self, name: str) -> TopUpProvider | None:
        """Return the provider called ``name``, or None."""
        return self._providers.get(name)

    def list(self) -> builtins.list[TopUpProvider]:
        """Return every provider, the default first."""
        return list(self._providers.values())
