"""Fault injection: a sustained flood of messages for one client that does not consume; the
others keep working and lose nothing, and the flooded client's counter accounts for every
message its bounded queue could not hold.

The flood runs on a UART-paced line and is never more than two chunks ahead of what the
driver has taken, so on any machine, however slow or busy, a command's answer waits behind
at most those few kilobytes: the test checks what the driver controls (the reader never
blocks on the full queue, nothing is lost, every message is accounted for), not how fast
this CPU parses. Speed is measured in `benchmarks/reliability.py`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AsyncExitStack

import pytest
from support.brokers import BrokerInfo
from support.rig import FAST_BACKOFF, collect, wait_until

import nm28_async as nm
from nm28_async.client import MqttClient
from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e

FLOOD = 20_000
"""At least this many messages; the flood goes on until the round trips are done."""
QUEUE = 1000
CHUNK = 100
ROUNDS = 20
BAUDRATE = 3_000_000
LINE = b"\r\n+MQTTRECV: 5,%d,flood/t,16,%016d\r\n"
CEILING = 20.0
"""Seconds any single wait may take: generous, it only catches a driver that stalls."""


def accounted(client: MqttClient) -> int:
    return client.dropped_messages + client.queued_messages


def taken(client: MqttClient, count: int) -> Callable[[], bool]:
    """Whether ``client`` has queued or counted ``count`` messages."""
    return lambda: accounted(client) >= count


async def inject_flood(sim: VirtualModem, flooded: MqttClient, stop: asyncio.Event) -> int:
    """Raw +MQTTRECV lines for client 5 until ``stop`` (and at least FLOOD); how many."""
    sent = 0
    while sent < FLOOD or not stop.is_set():
        sim.inject(b"".join(LINE % (i % 65535 + 1, i) for i in range(sent, sent + CHUNK)))
        sent += CHUNK
        # at most two chunks on their way: this one and the one before
        await wait_until(taken(flooded, sent - CHUNK), CEILING, "the driver takes the flood")
    return sent


@pytest.mark.asyncio
async def test_flooded_client_does_not_slow_the_others(broker: BrokerInfo) -> None:
    async with VirtualModem(broker.url, baudrate=BAUDRATE) as sim:
        path = await sim.serve_pty()
        async with nm.Modem.open(path, queue_size=QUEUE) as modem, AsyncExitStack() as stack:
            sender, receiver = [
                await stack.enter_async_context(
                    modem.session(i, broker.host, broker.port, client_id=f"flood-{i}",
                                  backoff=FAST_BACKOFF, poll_interval=0.5)
                )
                for i in (0, 1)
            ]  # fmt: skip
            for session in (sender, receiver):
                await session.wait_connected(CEILING)
            await receiver.subscribe("calm/t", qos=1)
            flooded = modem.client(5)

            async def round_trips(n: int, tag: str) -> list[float]:
                """Latency of a QoS 1 publish (module → broker → PUBACK) and of a plain AT."""
                latencies = []
                for k in range(n):
                    started = time.monotonic()
                    await sender.publish("calm/t", f"{tag}-{k}", qos=1, wait=False)
                    await modem.command("AT")
                    latencies.append(time.monotonic() - started)
                return latencies

            baseline = await round_trips(ROUNDS, "before")
            stop = asyncio.Event()
            flood = asyncio.create_task(inject_flood(sim, flooded, stop))
            # the flooded queue is full: from here on its client drops
            await wait_until(taken(flooded, QUEUE + 1), CEILING, "queue overflowing")
            overflowing_at = accounted(flooded)
            during = await round_trips(ROUNDS, "during")
            assert accounted(flooded) > overflowing_at  # the flood went on meanwhile
            stop.set()
            injected = await flood
            # a stalled reader would hold every answer: each round trip ended, none took long
            assert max(during) < CEILING, max(during)
            # every calm message reached the receiving client, none dropped
            got = await collect(receiver, len(baseline) + len(during), timeout=CEILING)
            assert len(got) == len(baseline) + len(during)
            assert receiver.client.dropped_messages == 0
            # the flooded queue kept the newest QUEUE messages and counted every other one
            await wait_until(taken(flooded, injected), CEILING, "every flood message counted")
            assert injected >= FLOOD
            assert flooded.queued_messages == QUEUE
            assert flooded.dropped_messages == injected - QUEUE
            assert modem.statistics.garbage == 0
            first = await anext(flooded.messages())
            assert first.payload == b"%016d" % (injected - QUEUE)
