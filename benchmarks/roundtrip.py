"""Command round trip: `modem.command("AT")` against a bare `os.write` + `readuntil` loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

import nm28_async as nm

from .bare import open_bare
from .measure import Sample, Stopwatch

WARMUP = 50


async def _exchanges(command: Callable[[str], Awaitable[object]], count: int) -> Sample:
    for _ in range(WARMUP):
        await command("AT")
    watch = Stopwatch()
    for _ in range(count):
        await command("AT")
    return watch.stop(count)


async def driver(path: str, count: int) -> Sample:
    with anyio.fail_after(60):
        async with nm.Modem.open(path) as modem:
            return await _exchanges(modem.command, count)


async def bare(path: str, count: int) -> Sample:
    with anyio.fail_after(60):
        async with open_bare(path) as port:
            return await _exchanges(port.command, count)
