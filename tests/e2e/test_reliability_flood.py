"""Fault injection: 100,000 messages flood one client that does not consume; the others keep
their command latency and lose nothing, and the flooded client's counter accounts for every
message its bounded queue could not hold."""

from __future__ import annotations

import asyncio
import statistics
import time
from contextlib import AsyncExitStack

import pytest
from support.brokers import BrokerInfo
from support.rig import FAST_BACKOFF, collect, wait_until

import nm28_async as nm
from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e

FLOOD = 100_000
QUEUE = 1000
CHUNK = 500
LINE = b"\r\n+MQTTRECV: 5,%d,flood/t,16,%016d\r\n"


async def inject_flood(sim: VirtualModem) -> None:
    """Raw +MQTTRECV bytes for client 5, paced so the pty's buffer never overflows."""
    for start in range(0, FLOOD, CHUNK):
        sim.inject(b"".join(LINE % (i % 65535 + 1, i) for i in range(start, start + CHUNK)))
        await asyncio.sleep(0.002)


@pytest.mark.asyncio
async def test_flooded_client_does_not_slow_the_others(broker: BrokerInfo) -> None:
    async with VirtualModem(broker.url) as sim:
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
                await session.wait_connected(5)
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

            baseline = await round_trips(20, "before")
            flood = asyncio.create_task(inject_flood(sim))
            during: list[float] = []
            while not flood.done():
                during += await round_trips(1, f"during{len(during)}")
            await flood
            assert len(during) >= 10
            # every calm message reached the receiving client, none dropped
            got = await collect(receiver, len(baseline) + len(during), timeout=10)
            assert len(got) == len(baseline) + len(during)
            assert receiver.client.dropped_messages == 0
            # loose bounds: the flood costs the others no more than a few milliseconds
            assert max(during) < 0.5, max(during)
            assert statistics.median(during) < statistics.median(baseline) + 0.05
            # the flooded queue kept the newest QUEUE messages and counted every other one
            await wait_until(
                lambda: flooded.dropped_messages + flooded.queued_messages >= FLOOD,
                10,
                "every flood message queued or counted",
            )
            assert flooded.queued_messages == QUEUE
            assert flooded.dropped_messages == FLOOD - QUEUE
            assert modem.statistics.garbage == 0
            first = await anext(flooded.messages())
            assert first.payload == b"%016d" % (FLOOD - QUEUE)
