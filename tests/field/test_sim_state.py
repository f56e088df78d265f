"""The in-process simulator (the demo's) keeps a sale on disk before the driver hears the meter's answer."""
from __future__ import annotations

import json

import pytest

from tests.helpers import free_port, wait_for

from .conftest import attr, gateway, meters

pytestmark = pytest.mark.timeout(60)

DOMAIN = "acrel_dtsy1352"


async def test_sale_and_trip_are_saved_before_they_are_answered(start_core, tmp_path) -> None:
    """Right after sell and trip return, the state file already holds them: a kill rolls nothing back."""
    port = free_port()
    core = await start_core(
        {
            "dtsy1352_simulator": {
                "state_file": "sim_state.json",
                "servers": [{"name": "ss1", "port": port, "units": "1-2"}],
            },
            "modbus": [gateway("ss1", port)],
            DOMAIN: [meters("ss1", 2)],
        },
        name="demo",
    )
    meter = f"{DOMAIN}.m1"
    await wait_for(lambda: attr(core, meter, "online") is True, what="online")
    sold = await core.services.async_call(
        DOMAIN, "sell", {"entity_id": meter, "amount_fen": 5000, "purchase_count": 2}
    )
    assert sold["results"][meter]["purchase_count"] == 2
    await core.services.async_call(DOMAIN, "trip", {"entity_id": f"{DOMAIN}.m2"})
    saved = json.loads((tmp_path / "demo" / "sim_state.json").read_text(encoding="utf-8"))["meters"]
    assert saved["ss1/1"]["purchase_count"] == 2
    assert saved["ss1/2"]["forced"] == "trip"
