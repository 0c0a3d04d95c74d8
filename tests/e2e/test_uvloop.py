"""The driver on uvloop (the `uvloop` extra), end to end: the plugin's virtual NM28 and broker
run in their own thread, the driver on a uvloop loop, as an application started with
`uvloop.run(main())` runs it."""

from __future__ import annotations

import asyncio

import pytest

import nm28_async as nm
from nm28_async.testing import Broker, Nm28Sim

uvloop = pytest.importorskip("uvloop")

pytestmark = pytest.mark.e2e

COUNT = 30


def test_the_driver_runs_on_uvloop(nm28_sim: Nm28Sim, nm28_broker: Broker) -> None:
    """Open, connect, subscribe, publish QoS 1 and receive every message back in order, a
    raw command between them, then close: the port's direct reads and the rest timer work
    on uvloop's loop as on asyncio's."""

    async def scenario() -> tuple[str, list[bytes], list[str]]:
        loop = type(asyncio.get_running_loop()).__module__
        async with (
            nm.Modem.open(nm28_sim.port) as modem,
            modem.mqtt(0, nm28_broker.host, nm28_broker.port, client_id="uv") as client,
        ):
            await client.subscribe("uv/t", qos=1)
            for n in range(COUNT):
                await client.publish("uv/t", b"m%02d" % n, qos=1)
            answer = await modem.command("AT+CSQ")
            got: list[bytes] = []
            async for message in client.messages():
                got.append(message.payload)
                if len(got) == COUNT:
                    break
        return loop, got, answer

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        loop, got, answer = runner.run(asyncio.wait_for(scenario(), 60))
    assert loop.startswith("uvloop")
    assert got == [b"m%02d" % n for n in range(COUNT)]
    assert answer[0].startswith("+CSQ:")
