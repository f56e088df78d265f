"""A virtual null-modem cable: two pty pairs with joined masters, so two programs can open real tty paths."""
from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from pathlib import Path


class PtyCable:
    """``server_path`` and ``client_path`` are tty devices; bytes written to one are read from the other."""

    def __init__(self, link: Path | None = None) -> None:
        self._master_a, self._slave_a = os.openpty()
        self._master_b, self._slave_b = os.openpty()
        for fd in (self._slave_a, self._slave_b):
            tty.setraw(fd)
        for fd in (self._master_a, self._master_b):
            os.set_blocking(fd, False)
        self.server_path = os.ttyname(self._slave_a)
        self.client_path = os.ttyname(self._slave_b)
        self.link = link
        if link is not None:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            link.symlink_to(self.client_path)
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start copying bytes between the two ends."""
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._master_a, self._copy, self._master_a, self._master_b)
        self._loop.add_reader(self._master_b, self._copy, self._master_b, self._master_a)

    @staticmethod
    def _copy(source: int, target: int) -> None:
        try:
            data = os.read(source, 4096)
        except (BlockingIOError, OSError):
            return
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(target, data)

    def close(self) -> None:
        """Stop copying and close every descriptor."""
        if self._loop is not None:
            self._loop.remove_reader(self._master_a)
            self._loop.remove_reader(self._master_b)
        for fd in (self._master_a, self._master_b, self._slave_a, self._slave_b):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
