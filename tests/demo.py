"""A copy of the shipped demo tower (config/demo) on free ports, so its tests never need the demo's own."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.helpers import free_port

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo"
RUN_FILES = (".db", ".db-wal", ".db-shm", ".json")  # left behind by a demo run in the checkout
FIXED_PORTS = (5021, 5022, 5023, 5024, 8123, 9009, 9010, 9011)


def copy_demo(folder: Path, *, wire_timing: bool = True) -> Path:
    """Copy the demo to ``folder`` with a free port for each of its fixed ones (the same port wherever one is
    named twice, e.g. a serial server and its gateway); ``wire_timing=False`` drops the 9600-baud line timing."""
    shutil.copytree(DEMO, folder, ignore=lambda _dir, names: [n for n in names if n.endswith(RUN_FILES)])
    ports = {fixed: free_port() for fixed in FIXED_PORTS}
    for file in folder.glob("*.yaml"):
        text = file.read_text(encoding="utf-8")
        for fixed, free in ports.items():
            text = text.replace(f"port: {fixed},", f"port: {free},").replace(f"port: {fixed}\n", f"port: {free}\n")
        file.write_text(text, encoding="utf-8")
    if not wire_timing:
        sim = folder / "dtsy1352_simulator.yaml"
        settings = yaml.safe_load(sim.read_text(encoding="utf-8"))
        for server in settings["servers"]:
            server.pop("baud", None)
        sim.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return folder
