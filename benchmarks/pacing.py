"""Benchmark 4: ingest from the virtual NM28 paced like a UART (8N1: baud / 10 bytes/s).

The sim runs with `--baudrate`; six clients subscribe to one topic and a paho-mqtt client in
a third process (`benchmarks.flood`) publishes to it faster than the line carries, so the
sim's output is never idle. After a warm-up the consumer counts the `+MQTTRECV` bytes that
arrive in a fixed window: the driver through `async for` on six clients, the pipe baseline
as raw bytes from its own sim. Share = bytes/s over baud/10.
"""

from __future__ import annotations

import asyncio
import time

import anyio

import nm28_async as nm

from . import wire
from .bare import open_bare
from .measure import Sample
from .simrig import BareAt, Sim, flooding

TOPIC = "bench/down"
OVERDRIVE = 1.3
"""Published bytes/s over the line rate."""
WARMUP = 0.3


def line_rate(baudrate: int) -> float:
    """Bytes per second an 8N1 UART carries."""
    return baudrate / 10


def frame_length(index: int, packet_id: int, size: int) -> int:
    """Bytes of one `+MQTTRECV` URC as the sim frames it (length field on, payload in URC)."""
    return len(f"\r\n+MQTTRECV: {index},{packet_id},{TOPIC},{size},".encode()) + size + 2


def publish_rate(baudrate: int, size: int) -> float:
    """Messages/s to publish so the six subscriptions' frames exceed the line rate."""
    return OVERDRIVE * line_rate(baudrate) / (wire.CLIENTS * frame_length(0, 0, size))


class _Meter:
    def __init__(self) -> None:
        self.count = 0
        self.nbytes = 0
        self.first = asyncio.Event()

    def add(self, count: int, nbytes: int) -> None:
        self.count += count
        self.nbytes += nbytes
        self.first.set()

    async def window(self, seconds: float) -> Sample:
        """Wait for the first bytes and the warm-up, then measure for `seconds`."""
        await self.first.wait()
        await anyio.sleep(WARMUP)
        count, nbytes, cpu = self.count, self.nbytes, time.process_time()
        start = time.perf_counter()
        await anyio.sleep(seconds)
        wall = time.perf_counter() - start
        return Sample(self.count - count, self.nbytes - nbytes, wall, time.process_time() - cpu)


async def _consume(client: nm.MqttClient, meter: _Meter) -> None:
    async for m in client.messages():
        meter.add(1, frame_length(m.client_index, m.packet_id, len(m.payload)))


async def driver(sim: Sim, baudrate: int, size: int, seconds: float) -> Sample:
    """Six driver clients subscribed to the flooded topic."""
    meter = _Meter()
    with anyio.fail_after(60 + seconds):
        async with nm.Modem.open(sim.path, baudrate=baudrate, queue_size=100_000) as modem:
            for client in modem.clients:
                await client.open(sim.host, sim.port)
                await client.connect(f"bench{client.index}")
                await client.subscribe(TOPIC, qos=0)
            async with anyio.create_task_group() as tasks:
                for client in modem.clients:
                    tasks.start_soon(_consume, client, meter)
                with flooding(sim, TOPIC, size, publish_rate(baudrate, size)):
                    sample = await meter.window(seconds)
                tasks.cancel_scope.cancel()
    return sample


async def pipe(sim: Sim, baudrate: int, size: int, seconds: float) -> Sample:
    """Bare pipe: the same subscriptions over bare AT, then count raw bytes."""
    meter = _Meter()
    with anyio.fail_after(60 + seconds):
        async with open_bare(sim.path, baudrate) as streams:
            at = BareAt(streams)
            for index in range(wire.CLIENTS):
                await at.connect(index, sim)
                await at.subscribe(index, TOPIC)

            async def read() -> None:
                while True:
                    meter.add(0, len(await at.reader.read(65536)))

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(read)
                with flooding(sim, TOPIC, size, publish_rate(baudrate, size)):
                    sample = await meter.window(seconds)
                tasks.cancel_scope.cancel()
    frames = sample.nbytes / frame_length(0, 0, size)
    return Sample(round(frames), sample.nbytes, sample.wall, sample.cpu)
