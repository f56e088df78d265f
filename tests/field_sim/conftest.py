"""Fixtures for the field-layer simulator tests: a running simulator and pymodbus clients."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.framer import FramerType

from integrations.acrel_dtsy1352.pdu import AcrelCommandResponse
from integrations.acrel_dtsy1352.simulator import Simulator


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[Simulator]:
    """Yield a simulator with a state file in tmp_path; stopped afterwards."""
    simulator = Simulator(seed=7, state_file=tmp_path / "sim.json")
    yield simulator
    await simulator.async_stop()


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., AsyncModbusTcpClient]]:
    """Return an async factory of connected pymodbus TCP clients (closed afterwards)."""
    clients: list[AsyncModbusTcpClient] = []

    async def factory(port: int, rtu: bool = False, timeout: float = 1.0, **kwargs: object) -> AsyncModbusTcpClient:
        client = AsyncModbusTcpClient(
            "127.0.0.1", port=port, framer=FramerType.RTU if rtu else FramerType.SOCKET,
            timeout=timeout, retries=0, reconnect_delay=0, **kwargs,
        )
        client.register(AcrelCommandResponse)
        assert await client.connect()
        clients.append(client)
        return client

    yield factory  # type: ignore[misc]
    for client in clients:
        client.close()
