"""What the payment sandboxes share: an aiohttp server, notifications delivered by a policy, the CLI."""
from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web


@dataclass
class NotifyPolicy:
    """How the sandbox delivers notifications: copies per payment, delay, and lost ones."""

    repeat: int = 1
    delay: float = 0.0
    lose: bool = False
    retry_delays: tuple[float, ...] = (1.0, 3.0, 10.0)


class SandboxServer:
    """What the payment sandboxes share: an aiohttp app on host:port, a client session for notifications,
    tracked notification tasks, and delivery by a NotifyPolicy."""

    label = "sandbox"
    entry_path = ""  # what the banner and the log add to the base URL

    def __init__(self, policy: NotifyPolicy | None) -> None:
        self.policy = policy or NotifyPolicy()
        self.notify_log: list[tuple[str, int, str]] = []
        self.rejected_requests = 0
        self.app = web.Application()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.base_url = ""

    async def serve(self, host: str, port: int) -> str:
        """Serve on host:port (0 = any free port) and return the base URL."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
        self.base_url = f"http://{host}:{bound}"
        self._session = aiohttp.ClientSession()
        logging.getLogger(type(self).__module__).info("%s at %s%s", self.label, self.base_url, self.entry_path)
        return self.base_url

    async def stop(self) -> None:
        """Stop serving and cancel pending notifications."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def send(self, url: str, body: str | bytes, headers: dict[str, str], reference: str) -> tuple[int, str]:
        """POST one notification and log it; return (status, body), status 0 when unreachable."""
        assert self._session is not None
        try:
            async with self._session.post(url, data=body, headers=headers) as resp:
                result = (resp.status, await resp.text())
        except aiohttp.ClientError as err:
            result = (0, str(err))
        self.notify_log.append((reference, *result))
        return result

    def schedule_delivery(self, policy: NotifyPolicy, attempt: Callable[[], Awaitable[bool]]) -> None:
        """Deliver one payment's notifications in the background (unless ``policy`` loses them)."""
        if policy.lose:
            return
        task = asyncio.get_running_loop().create_task(self._deliver(policy, attempt))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _deliver(policy: NotifyPolicy, attempt: Callable[[], Awaitable[bool]]) -> None:
        """Send ``policy.repeat`` copies after ``policy.delay``, retrying each until ``attempt`` is answered OK."""
        if policy.delay:
            await asyncio.sleep(policy.delay)
        for _ in range(policy.repeat):
            for retry_delay in (*policy.retry_delays, None):
                if await attempt() or retry_delay is None:
                    break
                await asyncio.sleep(retry_delay)


def add_sandbox_arguments(parser: argparse.ArgumentParser, default_port: int, default_keys_dir: str) -> None:
    """Command-line options every payment sandbox has: where it listens, its keys, how it notifies."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--keys-dir", type=Path, default=Path(default_keys_dir),
                        help="where the key files are read (generated when missing)")
    parser.add_argument("--notify-repeat", type=int, default=1, help="copies of each notification")
    parser.add_argument("--notify-delay", type=float, default=0.0, help="seconds before notifying (late ones)")
    parser.add_argument("--lose-notify", action="store_true", help="never notify (the query job must find payments)")


def policy_from_arguments(args: argparse.Namespace) -> NotifyPolicy:
    """Return the notification policy the command line asks for."""
    return NotifyPolicy(repeat=args.notify_repeat, delay=args.notify_delay, lose=args.lose_notify)


async def serve_forever(sandbox: SandboxServer, host: str, port: int, banner: Callable[[str], str]) -> None:
    """Run a sandbox until interrupted, printing ``banner(base_url)`` once it listens."""
    url = await sandbox.serve(host, port)
    print(banner(url), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()


def run_cli(prog: str, description: str | None, add_arguments: Callable[[argparse.ArgumentParser], None],
            main: Callable[[argparse.Namespace], Awaitable[None]]) -> None:
    """Run a sandbox from ``python -m`` until interrupted."""
    logging.basicConfig(level=logging.INFO)
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_arguments(parser)
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        pass
