"""The baselines' own port handling: bare pyserial-asyncio streams, with no driver in between.

They read `READ_SIZE` bytes per readiness callback, as the driver's transport does, so driver
and baselines differ only in what they do with the bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import serial_asyncio

from nm28_async.transport import READ_SIZE

from . import wire


class Writer(Protocol):
    """What the baselines use of their stream writer."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...


Streams = tuple[asyncio.StreamReader, Writer]


@asynccontextmanager
async def open_bare(path: str, baudrate: int = 115200) -> AsyncIterator[Streams]:
    reader, writer = await serial_asyncio.open_serial_connection(url=path, baudrate=baudrate)
    writer.transport._max_read_size = READ_SIZE
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
