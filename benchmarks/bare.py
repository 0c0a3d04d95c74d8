"""The baselines' port: bare pyserial-asyncio with no driver in between.

Two shapes, both through pyserial-asyncio's own read callback, told to take up to `READ_SIZE`
bytes per call rather than its default 1 KiB (the driver reads the descriptor itself, until
it is empty), and both writing with `os.write` on the port's file descriptor as the driver
does:

* `open_bare`: pyserial-asyncio's `StreamReader`, for `readuntil(b"\\r\\n")` loops;
* `open_floor`: the transport with an `asyncio.Protocol` whose `data_received` only counts
  bytes: the floor of the stack, what any reader of these bytes pays at least.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import serial_asyncio

from nm28_async.engine.serial_port import READ_SIZE

from . import wire

BAUDRATE = 115200
"""Ignored by a pty; the driver's default."""


def _tune(transport: Any) -> int:
    """Take up to `READ_SIZE` per read callback; return the port's fd."""
    transport._max_read_size = READ_SIZE
    fd: int = transport.get_extra_info("serial").fd
    return fd


def _write(fd: int, data: bytes) -> None:
    """Write the whole of `data` now (a command line or a payload: the pty takes it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class BarePort:
    """A `StreamReader` and the port's fd: write, read lines, nothing else."""

    def __init__(self, reader: asyncio.StreamReader, fd: int) -> None:
        self.reader = reader
        self.fd = fd

    def write(self, data: bytes) -> None:
        _write(self.fd, data)

    async def line(self) -> bytes:
        """The next non-empty line, without its CRLF."""
        while True:
            line = (await self.reader.readuntil(b"\r\n"))[:-2]
            if line:
                return line

    async def command(self, line: str) -> None:
        """Write one command line and wait for its OK (what `modem.command` does)."""
        _write(self.fd, line.encode() + b"\r")
        await self.reader.readuntil(wire.OK)


@asynccontextmanager
async def open_bare(path: str) -> AsyncIterator[BarePort]:
    reader, writer = await serial_asyncio.open_serial_connection(url=path, baudrate=BAUDRATE)
    try:
        yield BarePort(reader, _tune(writer.transport))
    finally:
        writer.close()


class Counter(asyncio.Protocol):
    """Counts the bytes it receives; `until(n)` waits until `n` have come in all."""

    def __init__(self) -> None:
        self.received = 0
        self._goal = 0
        self._reached: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self.received >= self._goal and self._reached is not None:
            self._reached.set_result(None)
            self._reached = None

    async def until(self, total: int) -> None:
        if self.received < total:
            self._goal = total
            self._reached = asyncio.get_running_loop().create_future()
            await self._reached


class FloorPort:
    """The counting protocol on the bare transport, and the port's fd to write commands."""

    def __init__(self, counter: Counter, fd: int) -> None:
        self.counter = counter
        self.fd = fd

    async def command(self, line: str) -> None:
        """Write one command line and wait for the OK the responder answers it with."""
        goal = self.counter.received + len(wire.OK)
        _write(self.fd, line.encode() + b"\r")
        await self.counter.until(goal)

    def write(self, data: bytes) -> None:
        _write(self.fd, data)


@asynccontextmanager
async def open_floor(path: str) -> AsyncIterator[FloorPort]:
    loop = asyncio.get_running_loop()
    transport, counter = await serial_asyncio.create_serial_connection(
        loop, Counter, path, baudrate=BAUDRATE
    )
    try:
        yield FloorPort(counter, _tune(transport))
    finally:
        transport.close()
