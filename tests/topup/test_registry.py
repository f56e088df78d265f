"""The provider registry: providers listed in the order they registered, a name taken once, listeners told."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from integrations.topup.registry import TopUpRegistry


class _Provider:
    """Just what the registry reads of a provider."""

    def __init__(self, name: str) -> None:
        self.name = name


async def test_register_get_list_and_listen() -> None:
    """The first provider is the default; listeners hear of each new one with its section; names are unique."""
    registry = TopUpRegistry()
    heard: list[tuple[str, Mapping[str, Any]]] = []

    async def listener(provider: Any, config: Mapping[str, Any]) -> None:
        heard.append((provider.name, config))

    first, second = _Provider("alipay"), _Provider("acmepay")
    await registry.async_register(first, {"kiosk_idle": 60})  # type: ignore[arg-type]
    registry.listen(listener)
    await registry.async_register(second, {"kiosk_idle": 30})  # type: ignore[arg-type]
    assert registry.list() == [first, second]
    assert registry.get("acmepay") is second and registry.get("unionpay") is None
    assert heard == [("acmepay", {"kiosk_idle": 30})]
    with pytest.raises(ValueError, match="acmepay"):
        await registry.async_register(_Provider("acmepay"), {})  # type: ignore[arg-type]
    assert registry.list() == [first, second]
