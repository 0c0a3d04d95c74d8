"""Driver → pty/TCP → VirtualModem → real broker, with mosquitto's tools at the far end."""

from __future__ import annotations

import asyncio

import pytest
from support.brokers import (
    BrokerInfo,
    MosquittoFactory,
    PasswordBroker,
    publish_with_tool,
    start_subscriber,
)

import nm28_async as nm
from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e


async def port_of(sim: VirtualModem, kind: str) -> str:
    if kind == "pty":
        return await sim.serve_pty()
    host, port = await sim.serve_tcp()
    return f"socket://{host}:{port}"


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["pty", "tcp"])
@pytest.mark.parametrize("qos", [0, 1, 2])
async def test_both_directions(sim: VirtualModem, broker: BrokerInfo, kind: str, qos: int) -> None:
    payloads = ["héllo, wörld\r\n✓".encode(), b"\x00\x1a\r\n,\xff" * 3, bytes(range(256)) * 8]
    async with nm.Modem.open(await port_of(sim, kind), command_timeout=30) as modem:
        client = modem.client(qos)
        await client.open(broker.host, broker.port)
        await client.connect(f"e2e-{kind}-{qos}")
        assert await client.subscribe("down/#", qos=qos) == qos
        sub = await start_subscriber(broker, "up/t", count=len(payloads), qos=qos)
        try:
            for payload in payloads:
                await client.publish("up/t", payload, qos=qos)
            uplinked = await sub.messages()
        finally:
            await sub.close()
        assert [m.payload for m in uplinked] == payloads
        assert len(payloads[2]) == 2048  # the manual's maximum
        for payload in payloads:
            await publish_with_tool(broker, "down/x", payload, qos=qos)
        got = []
        async with asyncio.timeout(30):
            async for message in client.messages():
                got.append(message)
                if len(got) == len(payloads):
                    break
        assert [(m.topic, m.payload) for m in got] == [("down/x", p) for p in payloads]
        await client.disconnect()
        await client.close()


@pytest.mark.asyncio
async def test_retained_message_reaches_a_late_subscriber(
    sim: VirtualModem, broker: BrokerInfo
) -> None:
    async with nm.Modem.open(await port_of(sim, "tcp")) as modem:
        client = modem.client(0)
        await client.open(broker.host, broker.port)
        await client.connect("e2e-retain")
        await client.publish("state/t", "kept", qos=1, retain=True)
        sub = await start_subscriber(broker, "state/t", count=1)
        try:
            (message,) = await sub.messages()
        finally:
            await sub.close()
    assert message.retained
    assert message.payload == b"kept"


@pytest.mark.asyncio
async def test_will_on_dropped_link(sim: VirtualModem, broker: BrokerInfo) -> None:
    async with nm.Modem.open(await port_of(sim, "pty")) as modem:
        client = modem.client(1)
        await client.configure(will=nm.Will("dev/1/status", "offline", qos=1), keepalive=30)
        await client.open(broker.host, broker.port)
        await client.connect("e2e-will")
        sub = await start_subscriber(broker, "dev/1/status", count=1)
        try:
            assert sim.drop_link(1)
            (message,) = await sub.messages()
        finally:
            await sub.close()
    assert message.payload == b"offline"


@pytest.mark.asyncio
async def test_bad_credentials_raise_connect_error(password_broker: PasswordBroker) -> None:
    info = password_broker.info
    async with VirtualModem(info.url) as modem_sim:
        path = await modem_sim.serve_pty()
        async with nm.Modem.open(path) as modem:
            client = modem.client(0)
            await client.open(info.host, info.port)
            with pytest.raises(nm.ConnectError) as caught:
                await client.connect("e2e-bad", password_broker.username, "wrong")
    assert caught.value.ret_code in (4, 5)


@pytest.mark.asyncio
async def test_stopped_broker_is_open_result_5(mosquitto: MosquittoFactory) -> None:
    info = mosquitto.start()
    mosquitto.stop(info)
    async with VirtualModem(info.url) as modem_sim:
        path = await modem_sim.serve_pty()
        async with nm.Modem.open(path) as modem:
            with pytest.raises(nm.OpenError) as caught:
                await modem.client(0).open(info.host, info.port)
    assert caught.value.code == 5
