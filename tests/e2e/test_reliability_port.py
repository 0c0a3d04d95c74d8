"""Fault injection: the pty is pulled away under load (a USB unplug); every pending call and
iterator ends with PortLostError within a bound, and the port can be opened again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from typing import Any

import pytest
from support.brokers import BrokerInfo
from support.rig import FAST_BACKOFF, collect, wait_until

import nm28_async as nm
from nm28_async.session import LinkState, Session
from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e

CEILING = 20.0
"""Seconds a wait may take; the timeouts below are longer, so only the lost port can end
what waits within it."""
TIMEOUT = 60.0


@pytest.mark.asyncio
async def test_port_pulled_under_load_ends_everything_then_reopens(broker: BrokerInfo) -> None:
    async with VirtualModem(broker.url) as sim:
        path = await sim.serve_pty()
        async with (
            nm.Modem.open(path, command_timeout=TIMEOUT) as modem,
            AsyncExitStack() as stack,
        ):
            sessions: list[Session] = [
                await stack.enter_async_context(
                    modem.session(i, broker.host, broker.port, client_id=f"pull-{i}",
                                  backoff=FAST_BACKOFF, poll_interval=0.2)
                )
                for i in range(3)
            ]  # fmt: skip
            for session in sessions:
                await session.wait_connected(CEILING)
            await sessions[1].subscribe("pull/#", qos=1)
            done: list[int] = [0, 0, 0]

            async def publish_forever(session: Session) -> None:
                while True:
                    await session.publish(f"pull/{session.client.index}", b"load", qos=1)
                    done[session.client.index] += 1

            async def consume() -> None:
                async for _ in sessions[1].messages():
                    pass

            async def command_forever() -> None:
                while True:
                    await modem.command("AT+CSQ")

            async def states_end() -> None:
                async for _ in sessions[2].states():
                    pass

            work: list[Coroutine[Any, Any, None]] = [
                *(publish_forever(s) for s in sessions),
                consume(),
                command_forever(),
                sessions[0].wait_connected(None),
            ]
            tasks = [asyncio.create_task(job) for job in work]
            await wait_until(lambda: all(n > 0 for n in done), CEILING, "every client published")
            assert not any(t.done() for t in tasks[:5])
            ender = asyncio.create_task(states_end())
            pulled_at = time.monotonic()
            sim.close_port()
            results = await asyncio.wait_for(
                asyncio.gather(*tasks, return_exceptions=True), CEILING
            )
            bound = time.monotonic() - pulled_at
            await asyncio.wait_for(ender, CEILING)  # the state stream ended too
            # wait_connected(None) returned when the session was still connected, or raised
            assert [type(r) for r in results[:5]] == [nm.PortLostError] * 5
            assert results[5] is None or isinstance(results[5], nm.PortLostError)
            assert bound < CEILING  # the lost port ended them, not a timeout (TIMEOUT s)
            assert all(s.state is LinkState.CLOSED for s in sessions)
            with pytest.raises(nm.PortLostError):
                await sessions[0].publish("pull/0", b"late")
            with pytest.raises(nm.PortLostError):
                await modem.command("AT")
        # the "USB device" comes back: a new port, the same module, which still holds the clients
        path = await sim.serve_pty()
        async with nm.Modem.open(path) as modem:
            assert set(await modem.query_open()) == {0, 1, 2}
            async with modem.session(
                0, broker.host, broker.port, client_id="pull-0", backoff=FAST_BACKOFF
            ) as session:
                await session.wait_connected(CEILING)
                await session.subscribe("pull/again", qos=1)
                await session.publish("pull/again", b"welcome back", qos=1)
                (message,) = await collect(session, 1, timeout=CEILING)
                assert message.payload == b"welcome back"
