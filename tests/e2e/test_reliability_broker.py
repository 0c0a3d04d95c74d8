"""Fault injection: the broker dies mid-stream and comes back (mosquitto, persistent session)."""

from __future__ import annotations

import asyncio
import time

import pytest
from support.brokers import MosquittoFactory
from support.rig import FAST_BACKOFF, wait_reconnected

import nm28_async as nm
from nm28_async.session import LinkState
from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e

COUNT = 60
INTERVAL = 0.025
CEILING = 60.0
"""Seconds any wait may take: generous, a busy machine passes; a lost message does not."""


@pytest.mark.asyncio
async def test_broker_restart_mid_stream_loses_nothing(mosquitto: MosquittoFactory) -> None:
    info = mosquitto.start(persistence=True)
    async with VirtualModem(info.url) as sim:
        path = await sim.serve_pty()
        async with (
            nm.Modem.open(path) as modem,
            modem.session(
                1, info.host, info.port, client_id="rel-sub", clean_session=False,
                backoff=FAST_BACKOFF, poll_interval=0.3,
            ) as receiver,
            modem.session(
                0, info.host, info.port, client_id="rel-pub", backoff=FAST_BACKOFF,
                poll_interval=0.3, publish_timeout=CEILING,
            ) as sender,
        ):  # fmt: skip
            await receiver.wait_connected(CEILING)
            await sender.wait_connected(CEILING)
            await receiver.subscribe("rel/stream", qos=1)
            received: list[bytes] = []
            expected = {b"m%03d" % i for i in range(COUNT)}

            async def consume() -> None:
                async for message in receiver.messages():
                    received.append(message.payload)
                    if expected <= set(received):
                        return

            consumer = asyncio.create_task(consume())
            outage: list[float] = []
            publishes: list[asyncio.Task[int]] = []
            started_at: list[float] = []
            for i in range(COUNT):
                if i == COUNT // 3:
                    mosquitto.stop(info)  # SIGTERM: mosquitto saves its sessions and stops
                    outage.append(time.monotonic())
                if i == COUNT // 3 + 20:
                    mosquitto.start(persistence=True, port=info.port)
                    outage.append(time.monotonic())
                started_at.append(time.monotonic())
                publishes.append(
                    asyncio.create_task(sender.publish("rel/stream", b"m%03d" % i, qos=1))
                )
                await asyncio.sleep(INTERVAL)
            results = await asyncio.wait_for(
                asyncio.gather(*publishes, return_exceptions=True), 2 * CEILING
            )
            failures = [r for r in results if isinstance(r, BaseException)]
            assert failures == []  # every publish succeeded: none raised, none dropped
            await asyncio.wait({consumer}, timeout=CEILING)  # it ends once all have arrived
            consumer.cancel()
            down, up = outage
            during = sum(down <= t < up for t in started_at)
            assert during >= 10  # publishes made while the broker was gone...
            assert sorted(expected - set(received)) == []  # ...all delivered: zero lost
            assert len(received) - len(expected) <= COUNT  # duplicates (QoS 1) stay bounded
            assert sender.reconnects >= 1
            assert receiver.reconnects >= 1
            await wait_reconnected(receiver, 1, timeout=CEILING)
            assert sender.state is LinkState.CONNECTED
