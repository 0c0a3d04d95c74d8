"""Benchmark 1: `+MQTTRECV` from another process to `async for` on six clients.

Baselines read the same bytes from the same responder over the same transport
(pyserial-asyncio, reading `READ_SIZE` per callback): the bare pipe (reads, no parsing) and a bare
`readuntil(b"\\r\\n")` loop that counts message lines. `rate` (bytes/s, 0 = as fast as the
pty drains) paces the producer like a UART. `read_size` overrides the transport's read per
readiness callback (the reference row uses pyserial-asyncio's own 1 KiB).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

import nm28_async as nm

from . import wire
from .bare import bare_command, open_bare
from .measure import Sample, Stopwatch

DEADLINE = 120.0


def per_client(count: int, clients: int = wire.CLIENTS) -> list[int]:
    """How many of `count` round-robin messages each client index receives."""
    return [count // clients + (1 if i < count % clients else 0) for i in range(clients)]


def set_read_size(writer: object, read_size: int | None) -> None:
    """Let pyserial-asyncio read up to `read_size` bytes per readiness callback.

    `writer` is a baseline's stream writer, or the driver's port (its transport inside).
    """
    if read_size is not None:
        stream: Any = writer
        transport = getattr(stream, "_transport", None) or stream.transport
        setattr(transport, "_max_read_size", read_size)  # noqa: B010 (private knob)


async def _drain_client(client: nm.MqttClient, expected: int) -> None:
    if expected == 0:
        return
    received = 0
    async for _message in client.messages():
        received += 1
        if received == expected:
            return


async def driver(
    path: str,
    count: int,
    size: int,
    *,
    rate: float = 0.0,
    baudrate: int = 115200,
    read_size: int | None = None,
) -> Sample:
    """The driver: `Modem.open` (AT/ATE0 sync), then six `async for` loops."""
    nbytes = wire.stream_length(count, size)
    with anyio.fail_after(DEADLINE):
        async with nm.Modem.open(path, baudrate=baudrate, queue_size=count) as modem:
            set_read_size(modem._port, read_size)
            await modem.command(wire.prepare_line(count, size, rate=rate))
            async with anyio.create_task_group() as tasks:
                for index, expected in enumerate(per_client(count)):
                    tasks.start_soon(_drain_client, modem.client(index), expected)
                watch = Stopwatch()
                await modem.command(wire.STREAM_LINE)
            sample = watch.stop(count, nbytes)
            assert sum(c.dropped_messages for c in modem.clients) == 0
    return sample


async def _bare_stream(
    path: str,
    count: int,
    size: int,
    consume: Callable[[asyncio.StreamReader], Awaitable[None]],
    *,
    rate: float,
    baudrate: int,
    read_size: int | None,
) -> Sample:
    """A baseline: prepare and start the stream with bare AT, time `consume` reading it."""
    nbytes = wire.stream_length(count, size)
    with anyio.fail_after(DEADLINE):
        async with open_bare(path, baudrate) as streams:
            reader, writer = streams
            set_read_size(writer, read_size)
            await bare_command(streams, wire.prepare_line(count, size, rate=rate))
            watch = Stopwatch()
            writer.write(wire.STREAM_LINE.encode() + b"\r")
            await consume(reader)
            return watch.stop(count, nbytes)


async def pipe(
    path: str,
    count: int,
    size: int,
    *,
    rate: float = 0.0,
    baudrate: int = 115200,
    read_size: int | None = None,
) -> Sample:
    """Bare pipe: read the stream's bytes as they come, parse nothing."""
    expected = wire.stream_length(count, size) + len(wire.OK)

    async def read_bytes(reader: asyncio.StreamReader) -> None:
        received = 0
        while received < expected:
            received += len(await reader.read(65536))

    return await _bare_stream(
        path, count, size, read_bytes, rate=rate, baudrate=baudrate, read_size=read_size
    )


async def readuntil(path: str, count: int, size: int, *, read_size: int | None = None) -> Sample:
    """Bare line reader: `readuntil(b"\\r\\n")`, count the lines that are messages."""

    async def count_messages(reader: asyncio.StreamReader) -> None:
        received = 0
        while received < count:
            line = await reader.readuntil(b"\r\n")
            if line.startswith(b"+MQTTRECV"):
                received += 1

    return await _bare_stream(
        path, count, size, count_messages, rate=0.0, baudrate=115200, read_size=read_size
    )
