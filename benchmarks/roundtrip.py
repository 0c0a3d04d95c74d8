"""Benchmark 2: `modem.command("AT")` against a bare write + `readuntil` loop."""

from __future__ import annotations

import anyio

import nm28_async as nm

from .bare import bare_command, open_bare
from .measure import Sample, Stopwatch

WARMUP = 50


async def driver(path: str, count: int) -> Sample:
    with anyio.fail_after(60):
        async with nm.Modem.open(path) as modem:
            for _ in range(WARMUP):
                await modem.command("AT")
            watch = Stopwatch()
            for _ in range(count):
                await modem.command("AT")
            return watch.stop(count)


async def bare(path: str, count: int) -> Sample:
    with anyio.fail_after(60):
        async with open_bare(path) as streams:
            for _ in range(WARMUP):
                await bare_command(streams, "AT")
            watch = Stopwatch()
            for _ in range(count):
                await bare_command(streams, "AT")
            return watch.stop(count)
