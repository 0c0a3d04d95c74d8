"""Ingest: `+MQTTRECV` frames written by the responder process, read by one of three variants.

* `driver`: `Modem.open` (AT/ATE0 sync), six `async for` consumers, one per client;
* `readuntil`: a bare `StreamReader.readuntil(b"\\r\\n")` loop counting the message lines;
* `floor`: the bare transport with a protocol that only counts bytes.

All three ask the responder for the same stream (`AT+PREP`, then `AT+STREAM`) and are timed
from the `AT+STREAM` line to the last message. `rate` (bytes/s) makes the responder pace the
stream like a line (what a deployment's CPU share is measured at); 0 sends it as fast as the
pty drains.
"""

from __future__ import annotations

import anyio

import nm28_async as nm

from . import wire
from .bare import open_bare, open_floor
from .measure import Sample, Stopwatch

DEADLINE = 120.0


def per_client(count: int, clients: int = wire.CLIENTS) -> list[int]:
    """How many of `count` round-robin messages each client index receives."""
    return [count // clients + (1 if i < count % clients else 0) for i in range(clients)]


async def _drain_client(client: nm.MqttClient, expected: int) -> None:
    if expected == 0:
        return
    received = 0
    async for _message in client.messages():
        received += 1
        if received == expected:
            return


async def driver(path: str, count: int, size: int, *, rate: float = 0.0) -> Sample:
    with anyio.fail_after(DEADLINE):
        async with nm.Modem.open(path, queue_size=count) as modem:
            await modem.command(wire.prepare_line(count, size, rate=rate))
            async with anyio.create_task_group() as tasks:
                for index, expected in enumerate(per_client(count)):
                    tasks.start_soon(_drain_client, modem.client(index), expected)
                watch = Stopwatch()
                await modem.command(wire.STREAM_LINE)
            sample = watch.stop(count, wire.stream_length(count, size))
            assert sum(c.dropped_messages for c in modem.clients) == 0
    return sample


async def readuntil(path: str, count: int, size: int, *, rate: float = 0.0) -> Sample:
    with anyio.fail_after(DEADLINE):
        async with open_bare(path) as port:
            await port.command(wire.prepare_line(count, size, rate=rate))
            reader = port.reader
            watch = Stopwatch()
            port.write(wire.STREAM_LINE.encode() + b"\r")
            received = 0
            while received < count:
                line = await reader.readuntil(b"\r\n")
                if line.startswith(b"+MQTTRECV"):
                    received += 1
            return watch.stop(count, wire.stream_length(count, size))


async def floor(path: str, count: int, size: int, *, rate: float = 0.0) -> Sample:
    nbytes = wire.stream_length(count, size)
    with anyio.fail_after(DEADLINE):
        async with open_floor(path) as port:
            await port.command(wire.prepare_line(count, size, rate=rate))
            expected = port.counter.received + len(wire.OK) + nbytes
            watch = Stopwatch()
            await port.command(wire.STREAM_LINE)
            await port.counter.until(expected)
            sample = watch.stop(count, nbytes)
            assert port.counter.received == expected, "stray bytes on the port"
    return sample


VARIANTS = {"driver": driver, "readuntil": readuntil, "floor": floor}
