"""The baselines' own port handling: the driver's transport, with no driver in between.

Ports open through `nm28_async.transport.open_stream`, as `Modem.open` does (pyserial-asyncio
reading `READ_SIZE` bytes per readiness callback), so driver and baselines differ only in
parsing and dispatch.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from nm28_async.transport import open_stream

from . import wire


class Writer(Protocol):
    """What the baselines use of the writer `open_stream` returns."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...


Streams = tuple[asyncio.StreamReader, Writer]


@asynccontextmanager
async def open_bare(path: str, baudrate: int = 115200) -> AsyncIterator[Streams]:
    reader, writer = await open_stream(path, baudrate)
    try:
        yield reader, writer
    finally:
        writer.close()


async def bare_command(streams: Streams, line: str) -> None:
    """Write one command line and wait for its OK (what the driver's `command` does)."""
    reader, writer = streams
    writer.write(line.encode() + b"\r")
    await writer.drain()
    await reader.readuntil(wire.OK)
