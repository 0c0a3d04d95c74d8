"""What engine tests wait on instead of sleeping: what the engine has read, and tasks that
have reached their first wait.

`ReadWatch.open` is a `PortOpener` (`Modem.open(mod.port, opener=watch.open)`): the real
serial port (or any other opener), with every read the engine was handed kept in order.
When `wait_read` returns, the engine has acted on those bytes: they went through its
`on_data` callback, which runs the conversation to completion before it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from nm28_async.engine import Port, PortOpener
from nm28_async.engine.port import DataCallback, LostCallback
from nm28_async.engine.serial_port import open_serial_port

T = TypeVar("T")

LIMIT = 10.0
"""Ceiling of every wait here: only a hang exceeds it."""


class ReadWatch:
    """The bytes the engine has been handed by its port, and a wait on them."""

    def __init__(self, opener: PortOpener = open_serial_port) -> None:
        self._opener = opener
        self.read = bytearray()
        """Every byte handed to the engine, in order."""
        self.reads = 0
        """How many reads (`on_data` calls) handed them over."""
        self._changed = asyncio.Event()

    async def open(
        self, url: str, baudrate: int, on_data: DataCallback, on_lost: LostCallback
    ) -> Port:
        def watched(data: bytes) -> None:
            on_data(data)
            self.read += data
            self.reads += 1
            self._changed.set()

        return await self._opener(url, baudrate, watched, on_lost)

    @property
    def mark(self) -> int:
        """The offset of the next byte the engine will be handed."""
        return len(self.read)

    async def wait_read(self, data: bytes, start: int = 0, timeout: float = LIMIT) -> int:
        """Wait until the engine has acted on `data` (at or after offset `start`); returns
        the offset just after it."""

        async def found() -> int:
            while (at := self.read.find(data, start)) < 0:
                self._changed.clear()
                await self._changed.wait()
            return at + len(data)

        return await asyncio.wait_for(found(), timeout)


async def started(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """A task running `coro` that has already reached its first wait (a reader parked in
    `get()`, an iterator waiting for its first item), so what follows finds it waiting."""
    began = asyncio.Event()

    async def run() -> T:
        began.set()  # the caller resumes only once this task yields, inside `coro`
        return await coro

    task = asyncio.create_task(run())
    await began.wait()
    return task


__all__ = ["LIMIT", "ReadWatch", "started"]
