"""Benchmark 6: the naive design common synchronous modem libraries use, on the same ingest.

A blocking pyserial reader thread finds lines and hands each one to the event loop with
`call_soon_threadsafe`; a callback on the loop splits the fields and puts a message on the
client's `asyncio.Queue`; six tasks consume. `chunked=False` reads with `Serial.readline()`
(one byte per read call, as pyserial implements it); `chunked=True` reads what is waiting
and splits lines itself, the best this design does.
"""

from __future__ import annotations

import asyncio
import threading

import anyio
import serial

import nm28_async as nm

from . import wire
from .ingest import DEADLINE, per_client
from .measure import Sample, Stopwatch


class NaiveModem:
    """The peer: a reader thread, per-line callbacks onto the loop, per-client queues."""

    def __init__(self, path: str, chunked: bool) -> None:
        self._loop = asyncio.get_running_loop()
        self._serial = serial.Serial(path, 115200, timeout=0.05)
        self._chunked = chunked
        self._stop = threading.Event()
        self.queues: list[asyncio.Queue[nm.Message]] = [
            asyncio.Queue() for _ in range(wire.CLIENTS)
        ]
        self._finals: asyncio.Queue[bytes] = asyncio.Queue()
        self._thread = threading.Thread(target=self._read_lines, daemon=True)
        self._thread.start()

    def _read_lines(self) -> None:
        port, call = self._serial, self._loop.call_soon_threadsafe
        pending = b""
        while not self._stop.is_set():
            if not self._chunked:
                line = port.readline()
                if line:
                    call(self._on_line, line)
                continue
            pending += port.read(max(1, port.in_waiting))
            *lines, pending = pending.split(b"\n")
            for line in lines:
                call(self._on_line, line)

    def _on_line(self, line: bytes) -> None:
        line = line.strip()
        if line.startswith(b"+MQTTRECV:"):
            index, packet_id, topic, _length, payload = line[10:].split(b",", 4)
            client = int(index)
            message = nm.Message(client, int(packet_id), topic.strip().decode(), payload)
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


async def _drain(queue: asyncio.Queue[nm.Message], expected: int) -> None:
    for _ in range(expected):
        await queue.get()


async def naive(path: str, count: int, size: int, *, chunked: bool) -> Sample:
    nbytes = wire.stream_length(count, size)
    modem = NaiveModem(path, chunked)
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
