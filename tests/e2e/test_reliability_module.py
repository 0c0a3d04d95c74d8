"""Fault injection on the module side: reboot mid-command, one link dropped among six,
noise and unknown URCs. Virtual NM28 against mosquitto (or the embedded broker)."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AsyncExitStack
from typing import Any

import pytest
from support.brokers import BrokerInfo, MosquittoFactory, publish_with_tool
from support.rig import FAST_BACKOFF, collect, wait_reconnected, wait_until

import nm28_async as nm
from nm28_async.session import LinkState, Session
from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e

CEILING = 30.0
"""Seconds any wait may take: generous, a busy machine passes; a stalled driver does not."""


async def open_sessions(
    stack: AsyncExitStack,
    modem: nm.Modem,
    info: BrokerInfo,
    prefix: str,
    indexes: range,
    **config: Any,
) -> list[Session]:
    sessions = [
        await stack.enter_async_context(
            modem.session(
                i, info.host, info.port, client_id=f"{prefix}-{i}", backoff=FAST_BACKOFF,
                poll_interval=0.5, publish_timeout=2 * CEILING, **config,
            )
        )
        for i in indexes
    ]  # fmt: skip
    for session in sessions:
        await session.wait_connected(CEILING)
    return sessions


@pytest.mark.asyncio
async def test_reboot_mid_command_fails_it_and_restores_all_six(
    mosquitto: MosquittoFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="nm28_async.wire")
    info = mosquitto.start()
    async with VirtualModem(info.url) as sim:
        path = await sim.serve_pty()
        async with nm.Modem.open(path) as modem, AsyncExitStack() as stack:
            sessions = await open_sessions(stack, modem, info, "reboot", range(6))
            for session in sessions:
                await session.subscribe(f"dev/{session.client.index}/down", qos=1)
            # freeze the broker: the module now waits for a PUBACK, the command stays in flight
            mosquitto.pause(info)
            published = sim.commands_received["AT+MQTTPUBEX="]
            in_flight = asyncio.create_task(
                sessions[0].publish("dev/0/up", b"x", qos=1, wait=False)
            )
            await wait_until(
                lambda: sim.commands_received["AT+MQTTPUBEX="] > published,
                CEILING,
                "the publish reached the module",
            )
            rebooted_at = time.monotonic()
            await sim.reboot()
            with pytest.raises(nm.ModuleRebootedError):
                await asyncio.wait_for(in_flight, CEILING)
            # the banner ended it, not the result deadline (5 s x 4 attempts, and more)
            assert time.monotonic() - rebooted_at < 20
            mosquitto.resume(info)
            for session in sessions:  # every supervised client restored
                await wait_reconnected(session, 1, timeout=CEILING)
            assert modem.reboots == 1
            assert [s.reconnects for s in sessions] == [1] * 6
            assert await modem.query_connections() == dict.fromkeys(range(6), True)
            # resubscribed: each session hears its own topic again
            for session in sessions:
                i = session.client.index
                await publish_with_tool(info, f"dev/{i}/down", b"back-%d" % i)
                (message,) = await collect(session, 1, timeout=CEILING)
                assert message.payload == b"back-%d" % i
    sent = [r.getMessage() for r in caplog.records if r.name == "nm28_async.wire"]
    assert sum(line == "TX ATE0" for line in sent) == 2  # resynchronised after the reboot


@pytest.mark.asyncio
async def test_one_dropped_link_leaves_five_clients_working(broker: BrokerInfo) -> None:
    per_client = 20
    dropped = 2
    async with VirtualModem(broker.url) as sim:
        path = await sim.serve_pty()
        async with nm.Modem.open(path) as modem, AsyncExitStack() as stack:
            # a publish stuck on the dead link would hold the channel 60 s: far beyond CEILING
            sessions = await open_sessions(
                stack, modem, broker, "drop", range(6), pkt_timeout=60, retries=0
            )
            receiver = sessions[5]
            await receiver.subscribe("drop/#", qos=1)
            senders = sessions[:5]
            expected = {
                b"%d-%02d" % (s.client.index, n) for s in senders for n in range(per_client)
            }
            latencies: dict[int, list[float]] = {s.client.index: [] for s in senders}

            async def publish(session: Session, n: int) -> None:
                started = time.monotonic()
                await session.publish(
                    f"drop/{session.client.index}", b"%d-%02d" % (session.client.index, n), qos=1
                )
                latencies[session.client.index].append(time.monotonic() - started)

            async def stream(session: Session) -> None:
                async with asyncio.TaskGroup() as tg:
                    for n in range(per_client):
                        tg.create_task(publish(session, n))
                        await asyncio.sleep(0.02)

            async with asyncio.TaskGroup() as tg:
                for session in senders:
                    tg.create_task(stream(session))
                # mid-stream: a few of the dropped client's messages are out, most are not
                await wait_until(
                    lambda: len(latencies[dropped]) >= 3, CEILING, "the streams are under way"
                )
                assert sim.drop_link(dropped)
            seen: set[bytes] = set()
            async with asyncio.timeout(CEILING):
                async for message in receiver.messages():
                    seen.add(message.payload)  # QoS 1: a resent one may come twice
                    if expected <= seen:
                        break
            assert seen == expected  # zero lost, the dropped client's too
            assert sessions[dropped].reconnects == 1
            others = [s for s in sessions if s.client.index != dropped]
            assert [s.reconnects for s in others] == [0] * 5
            assert all(s.state is LinkState.CONNECTED for s in sessions)
            worst_other = max(max(latencies[s.client.index]) for s in senders if s in others)
            assert worst_other < CEILING  # the others never waited for the dropped client


@pytest.mark.asyncio
async def test_noise_and_unknown_urcs_change_nothing(broker: BrokerInfo) -> None:
    count = 50
    async with VirtualModem(broker.url, noise_interval=0.005) as sim:
        path = await sim.serve_pty()
        async with nm.Modem.open(path) as modem, AsyncExitStack() as stack:
            seen: list[nm.Urc] = []

            async def watch() -> None:
                async for urc in modem.urcs():
                    seen.append(urc)

            watcher = asyncio.create_task(watch())
            sender, receiver = await open_sessions(stack, modem, broker, "noise", range(2))
            await receiver.subscribe("noise/t", qos=1)
            for n in range(count):
                if n % 10 == 0:
                    sim.inject(b'\r\n+NM28TEST: %d,"x"\r\nSOMETHING ELSE\r\n\xfe\xff\x00\r\n' % n)
                await sender.publish("noise/t", b"n%02d" % n, qos=1)
            got = await collect(receiver, count, timeout=CEILING)
            assert [m.payload for m in got] == [b"n%02d" % n for n in range(count)]
            await wait_until(
                lambda: (
                    sum(getattr(u, "name", "") == "NM28TEST" for u in seen) == 5
                    and modem.statistics.garbage >= 5
                ),
                CEILING,
                "all five injected URCs surfaced, their junk lines counted",
            )
            await wait_until(  # the sim's own noise
                lambda: any(getattr(u, "name", "") == "CEREG" for u in seen), CEILING, "+CEREG"
            )
            watcher.cancel()
            assert [sender.reconnects, receiver.reconnects] == [0, 0]
            assert modem.reboots == 0
