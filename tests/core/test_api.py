"""The HTTP API over a real socket, and `run` as a subprocess stopped by SIGTERM."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import voluptuous as vol

from scada_core.bootstrap import async_setup_core
from scada_core.config import load_config
from scada_core.core import ServiceCall
from tests.demo import copy_demo

ROOT = Path(__file__).resolve().parents[2]


async def test_api_states_services_and_openapi(tmp_path: Path, db_settings: dict[str, str]) -> None:
    schema = f"\n  db_schema: {db_settings['db_schema']}" if "db_schema" in db_settings else ""
    (tmp_path / "configuration.yaml").write_text(
        f"http:\n  port: 0\nrecorder:\n  db_url: {db_settings['db_url']}{schema}\n", encoding="utf-8"
    )
    core = await async_setup_core(load_config(tmp_path))

    async def echo(call: ServiceCall) -> dict[str, int]:
        core.states.async_set("demo.echo", str(call.data["n"]))
        return {"n": call.data["n"]}

    core.services.async_register("demo", "echo", echo, vol.Schema({vol.Required("n"): int}))
    base = f"http://127.0.0.1:{core.http.port}"  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/health") as resp:
                assert resp.status == 200
                assert (await resp.json())["status"] == "ok"
            async with http.post(f"{base}/api/services/demo/echo", json={"n": 7}) as resp:
                assert resp.status == 200
                assert await resp.json() == {"n": 7}
            async with http.get(f"{base}/api/states/demo.echo") as resp:
                assert (await resp.json())["state"] == "7"
            async with http.get(f"{base}/api/states") as resp:
                assert [s["entity_id"] for s in await resp.json()] == ["demo.echo"]
            async with http.get(f"{base}/api/states/demo.nothing") as resp:
                assert resp.status == 404
            async with http.post(f"{base}/api/services/demo/echo", json={"n": "x"}) as resp:
                assert resp.status == 400
                assert "expected int" in (await resp.json())["error"]
            async with http.post(f"{base}/api/services/demo/echo", data="not json") as resp:
                assert resp.status == 400
            async with http.post(f"{base}/api/services/demo/none", json={}) as resp:
                assert resp.status == 404
            async with http.get(f"{base}/api/openapi.json") as resp:
                doc = await resp.json()
        assert doc["openapi"].startswith("3.")
        routes = {
            (path, method.upper())
            for path, item in doc["paths"].items()
            for method in item
        }
        registered = {
            (r.resource.canonical, r.method)  # type: ignore[union-attr]
            for r in core.http.app.router.routes()  # type: ignore[union-attr]
            if r.resource is not None and r.resource.canonical.startswith("/api/") and r.method != "HEAD"
        }
        services = {(f"/api/services/{domain}/{name}", "POST")
                    for domain, names in core.services.async_services().items() for name in names}
        registered = (registered - {("/api/services/{domain}/{service}", "POST")}) | services
        assert registered == routes, "every API route is documented (each service as its own path) and nothing else"
        echo_body = doc["paths"]["/api/services/demo/echo"]["post"]["requestBody"]["content"]["application/json"]
        assert echo_body["schema"]["properties"] == {"n": {"type": "integer"}}
    finally:
        await core.async_stop()


def test_run_answers_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = copy_demo(tmp_path / "config")
    port = load_config(config).http["port"]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scada_core", "run", "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )
    try:
        body = asyncio.run(_wait_health(port, proc))
        assert body["status"] == "ok"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = out.decode()
    assert proc.returncode == 0, text
    assert "Stopped cleanly" in text
    assert "Traceback" not in text


async def _wait_health(port: int, proc: subprocess.Popen[bytes]) -> dict[str, str]:
    deadline = time.monotonic() + 90
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "exited"
            try:
                async with http.get(f"http://127.0.0.1:{port}/api/health") as resp:
                    return dict(await resp.json())
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
    raise AssertionError("server did not answer /api/health")


def test_check_config_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "configuration.yaml").write_text("http:\n  port: fast\nbogus: 1\n", encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "scada_core", "check-config", "-c", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert bad.returncode == 1
    assert "configuration.yaml:2: http -> port: expected int, got 'fast'" in bad.stderr
    assert "configuration.yaml:3: bogus: unknown integration 'bogus'" in bad.stderr
    assert "Traceback" not in bad.stderr + bad.stdout
    good = subprocess.run(
        [sys.executable, "-m", "scada_core", "check-config", "-c", str(copy_demo(tmp_path / "demo"))],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert good.returncode == 0, good.stderr


def test_example_config_is_valid_with_its_secrets(tmp_path: Path) -> None:
    import shutil

    example = tmp_path / "example"
    shutil.copytree(ROOT / "config/example", example)
    shutil.copy(example / "secrets.yaml.example", example / "secrets.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "scada_core", "check-config", "-c", str(example)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
