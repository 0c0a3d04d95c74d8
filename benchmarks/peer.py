"""The peer design, an ingest variant: what common synchronous modem libraries do.

A blocking pyserial reader thread reads what is waiting, splits lines and hands each one to
the event loop with `call_soon_threadsafe`; a callback on the loop splits the fields and
puts a message on the client's `asyncio.Queue`; six tasks consume. (Its other form,
`Serial.readline()`, which pyserial implements one byte per read call, measured 40-90 times
slower than this one and is no longer run.)
"""

from __future__ import annotations

import asyncio
import threading
from typing import NamedTuple

import anyio
import serial

from . import wire
from .ingest import DEADLINE, per_client
from .measure import Sample, Stopwatch


class PeerMessage(NamedTuple):
    """The peer's own message type (a tuple: as cheap to build as a message gets)."""

    client_index: int
    packet_id: int
    topic: str
    payload: bytes


class NaiveModem:
    """The peer: a reader thread, per-line callbacks onto the loop, per-client queues."""

    def __init__(self, path: str) -> None:
        self._loop = asyncio.get_running_loop()
        self._serial = serial.Serial(path, 115200, timeout=0.05)
        self._stop = threading.Event()
        self.queues: list[asyncio.Queue[PeerMessage]] = [
            asyncio.Queue() for _ in range(wire.CLIENTS)
        ]
        self._finals: asyncio.Queue[bytes] = asyncio.Queue()
        self._thread = threading.Thread(target=self._read_lines, daemon=True)
        self._thread.start()

    def _read_lines(self) -> None:
        port, call = self._serial, self._loop.call_soon_threadsafe
        pending = b""
        while not self._stop.is_set():
            pending += port.read(max(1, port.in_waiting))
            *lines, pending = pending.split(b"\n")
            for line in lines:
                call(self._on_line, line)

    def _on_line(self, line: bytes) -> None:
        line = line.strip()
        if line.startswith(b"+MQTTRECV:"):
            index, packet_id, topic, _length, payload = line[10:].split(b",", 4)
            client = int(index)
            message = PeerMessage(client, int(packet_id), topic.strip().decode(), payload)
            self.queues[client].put_nowait(message)
        elif line == b"OK":
            self._finals.put_nowait(line)

    async def command(self, line: str) -> None:
        self._serial.write(line.encode() + b"\r")
        await self._finals.get()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._serial.close()


async def _drain(queue: asyncio.Queue[PeerMessage], expected: int) -> None:
    for _ in range(expected):
        await queue.get()


async def peer(path: str, count: int, size: int) -> Sample:
    nbytes = wire.stream_length(count, size)
    modem = NaiveModem(path)
    try:
        with anyio.fail_after(DEADLINE):
            await modem.command(wire.prepare_line(count, size))
            async with anyio.create_task_group() as tasks:
                for queue, expected in zip(modem.queues, per_client(count), strict=True):
                    tasks.start_soon(_drain, queue, expected)
                watch = Stopwatch()
                await modem.command(wire.STREAM_LINE)
            return watch.stop(count, nbytes)
    finally:
        modem.close()
