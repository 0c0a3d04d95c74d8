"""The virtual NM28's knobs, read as the bytes it writes on its pty: the manual's spelling by
default, what other firmware prints when asked, and latencies that only ever add time."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from support.brokers import BrokerInfo, MosquittoFactory, publish_with_tool, start_subscriber
from support.raw_host import FINALS, RawHost, lines
from support.rogue_broker import RogueBroker

from nm28_async.sim import VirtualModem


@asynccontextmanager
async def attached(broker: BrokerInfo, **knobs: Any) -> AsyncIterator[RawHost]:
    """A sim with ``knobs`` and a raw host on its pty, echo off."""
    async with VirtualModem(broker.url, echo=False, **knobs) as sim:
        host = await RawHost.open_pty(sim)
        try:
            yield host
        finally:
            await host.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("spaced", [False, True])
async def test_result_lines_in_the_manuals_spelling_or_spaced(
    broker: BrokerInfo, spaced: bool
) -> None:
    """Section 2.1 prints ``+MQTTOPEN:0,0``; ``spaced_results`` prints ``+MQTTOPEN: 0,0``."""
    c = ": " if spaced else ":"
    async with attached(broker, spaced_results=spaced) as host:
        assert await host.command('AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883') == [
            f"+MQTTOPEN{c}0,0",
            "OK",
        ]
        assert await host.command('AT+MQTTCONN=0,"spell","u","p"') == [f"+MQTTCONN{c}0,0,0", "OK"]
        assert await host.command('AT+MQTTSUB=0,1,"s/t",1') == [f"+MQTTSUB{c}0,1,0,1", "OK"]
        assert await host.command('AT+MQTTUNS=0,2,"s/t"') == [f"+MQTTUNS{c}0,2,0", "OK"]
        answer = await host.publish('AT+MQTTPUBEX=0,3,1,0,0,"s/t",2', b"hi")
        assert answer == [f"+MQTTPUBEX{c}0,3,0", "OK"]
        assert await host.command("AT+CTWINGPOSTVER=0") == [f"+CTWINGPOSTVER{c}0", "OK"]
        assert await host.command("AT+MQTTDISC=0") == [f"+MQTTDISC{c}0,0", "OK"]
        assert await host.command("AT+MQTTCLOSE=0") == [f"+MQTTCLOSE{c}0,0", "OK"]
        # query and test answers keep the one spelling they have
        assert await host.command("AT+MQTTOPEN?") == ["OK"]
        assert await host.command("AT+MQTTCLOSE=?") == ["+MQTTCLOSE: (0-5)", "OK"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("recv_mode", "tail"),
    [
        (None, b',"a/b",5,"hello"'),
        ((0, 0), b',"a/b","hello"'),
        ((1, 1), b',"a/b",5'),
    ],
)
async def test_quoted_recv(
    broker: BrokerInfo, recv_mode: tuple[int, int] | None, tail: bytes
) -> None:
    """``+MQTTRECV: 0,3,"a/b",5,"hello"``: quoted topic and payload, the length without quotes."""
    async with attached(broker, quoted_recv=True) as host:
        if recv_mode is not None:
            mode = f'AT+MQTTCFG="recv/mode",0,{recv_mode[0]},{recv_mode[1]}'
            assert await host.command(mode) == ["OK"]
        await host.open_and_connect()
        assert await host.command('AT+MQTTSUB=0,1,"a/b",1') == ["+MQTTSUB:0,1,0,1", "OK"]
        await publish_with_tool(broker, "a/b", b"hello", qos=1)
        urc = await host.read_until(tail + b"\r\n")
        head = urc.removesuffix(tail + b"\r\n")
        assert head.startswith(b"\r\n+MQTTRECV: 0,")
        assert int(head.removeprefix(b"\r\n+MQTTRECV: 0,")) > 0  # the packet id, nothing else


@pytest.mark.asyncio
async def test_recv_carries_the_topic_bytes_the_broker_sent(broker: BrokerInfo) -> None:
    """Commas, quotes and non-ASCII in a topic reach the host as they are, unquoted."""
    topic = 'dev/a,b"c/温度'
    async with attached(broker) as host:
        await host.open_and_connect()
        assert await host.command('AT+MQTTSUB=0,1,"dev/#",0') == ["+MQTTSUB:0,1,0,0", "OK"]
        await publish_with_tool(broker, topic, b"x,y", qos=0)
        expected = b"\r\n+MQTTRECV: 0,0," + topic.encode() + b",3,x,y\r\n"
        assert await host.read_until(b"x,y\r\n") == expected


@pytest.mark.asyncio
async def test_recv_carries_a_topic_that_is_not_utf8(broker: BrokerInfo) -> None:
    """A lax broker passes a GBK topic through; the module prints its bytes unchanged."""
    topic = "温度/x,y".encode("gbk")
    async with RogueBroker(topic, b"hello") as rogue, attached(broker) as host:
        opened = await host.command(f'AT+MQTTOPEN=0,"127.0.0.1",{rogue.port}')
        assert opened == ["+MQTTOPEN:0,0", "OK"]
        assert await host.command('AT+MQTTCONN=0,"gbk","",""') == ["+MQTTCONN:0,0,0", "OK"]
        await host.send(b'AT+MQTTSUB=0,1,"#",0\r')
        got = await host.read_until(b"hello\r\n")  # the message may come before the OK
        if b"\r\nOK\r\n" not in got:
            got += await host.read_until(*FINALS)
        expected = b"\r\n+MQTTRECV: 0,0," + topic + b",5,hello\r\n"
        assert expected in got
        assert lines(got.replace(expected, b"")) == ["+MQTTSUB:0,1,0,0", "OK"]


@pytest.mark.asyncio
async def test_angle_prompt(broker: BrokerInfo) -> None:
    """``prompt=">"``: ``\\r\\n> `` with no line end, then the payload, as other firmware does."""
    async with attached(broker, prompt=">") as host:
        await host.open_and_connect()
        await host.send(b'AT+MQTTPUBEX=0,1,1,0,0,"p/t",5\r')
        assert await host.read_until(b"> ") == b"\r\n> "
        await host.send(b"hello")
        assert await host.read_until(*FINALS) == b"\r\n+MQTTPUBEX:0,1,0\r\n\r\nOK\r\n"


@pytest.mark.asyncio
async def test_link_lost_urc_on_a_dropped_link(broker: BrokerInfo) -> None:
    async with VirtualModem(broker.url, echo=False, link_lost_urc=True) as sim:
        host = await RawHost.open_pty(sim)
        try:
            for idx in (0, 1):
                await host.open_and_connect(idx, f"lost-{idx}")
            assert sim.drop_link(1)
            assert await host.read_until(b"+MQTTSTAT: 1,1\r\n") == b"\r\n+MQTTSTAT: 1,1\r\n"
            # CLOSE joins the link's network thread: a second notice would come before its result
            assert await host.command("AT+MQTTCLOSE=1") == ["+MQTTCLOSE:1,0", "OK"]
            # ending a link on purpose is no loss
            assert await host.command("AT+MQTTDISC=0") == ["+MQTTDISC:0,0", "OK"]
            assert await host.command("AT+MQTTCLOSE=0") == ["+MQTTCLOSE:0,0", "OK"]
        finally:
            await host.close()


@pytest.mark.asyncio
async def test_no_link_lost_urc_by_default(sim: VirtualModem) -> None:
    """The NM28 manual documents no connection-lost URC: the default prints none."""
    host = await RawHost.open_pty(sim)
    try:
        assert await host.command("ATE0") == ["ATE0\r", "OK"]
        await host.open_and_connect()
        assert sim.drop_link(0)
        assert await host.command("AT+MQTTCLOSE=0") == ["+MQTTCLOSE:0,0", "OK"]
    finally:
        await host.close()


@pytest.mark.asyncio
async def test_link_lost_urc_when_the_broker_goes_away(mosquitto: MosquittoFactory) -> None:
    info = mosquitto.start()
    async with attached(info, link_lost_urc=True) as host:
        await host.open_and_connect(2)
        mosquitto.stop(info)
        assert await host.read_until(b"+MQTTSTAT: 2,1\r\n") == b"\r\n+MQTTSTAT: 2,1\r\n"


@pytest.mark.asyncio
async def test_link_lost_urc_on_keepalive_failure(mosquitto: MosquittoFactory) -> None:
    """A broker that stops answering: no PINGRESP within the keep-alive time, code 2."""
    info = mosquitto.start()
    async with attached(info, link_lost_urc=True) as host:
        assert await host.command('AT+MQTTCFG="keepalive",0,10') == ["OK"]
        await host.open_and_connect(0)
        mosquitto.pause(info)
        try:
            # one keep-alive period to send PINGREQ, another to give up on it
            urc = await host.read_until(b"+MQTTSTAT: 0,2\r\n", timeout=90)
        finally:
            mosquitto.resume(info)
        assert urc == b"\r\n+MQTTSTAT: 0,2\r\n"


NETWORK_BOUND: list[tuple[str, bytes | None, str]] = [
    ('AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883', None, "+MQTTOPEN:0,0"),
    ('AT+MQTTCONN=0,"slow","u","p"', None, "+MQTTCONN:0,0,0"),
    ('AT+MQTTSUB=0,1,"slow/t",1', None, "+MQTTSUB:0,1,0,1"),
    ('AT+MQTTUNS=0,2,"slow/t"', None, "+MQTTUNS:0,2,0"),
    ('AT+MQTTPUBEX=0,3,1,0,0,"slow/t",4', b"data", "+MQTTPUBEX:0,3,0"),
    ("AT+CTWINGPOSTVER=0", None, "+CTWINGPOSTVER:0"),
    ("AT+MQTTDISC=0", None, "+MQTTDISC:0,0"),
    ("AT+MQTTCLOSE=0", None, "+MQTTCLOSE:0,0"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("result_after_ok", [False, True])
async def test_network_latency_delays_every_network_bound_command(
    broker: BrokerInfo, result_after_ok: bool
) -> None:
    """In the manual's order the result line and OK wait for the network together; with
    ``result_after_ok`` OK comes first and the result when the network answered."""
    latency = 0.5
    async with attached(broker, network_latency=latency, result_after_ok=result_after_ok) as host:
        for command, payload, result in NETWORK_BOUND:
            started = time.monotonic()
            await host.send(command.encode() + b"\r")
            if payload is not None:
                await host.read_until(b"\r\nCONNECT\r\n")
                started = time.monotonic()
                await host.send(payload)
            answer = await host.read_until(result.encode() + b"\r\n", *FINALS[:1])
            if result_after_ok:
                assert answer == b"\r\nOK\r\n", command
                answer += await host.read_until(result.encode() + b"\r\n")
                assert answer == b"\r\nOK\r\n\r\n" + result.encode() + b"\r\n", command
            else:
                answer += await host.read_until(*FINALS)
                assert answer == b"\r\n" + result.encode() + b"\r\n\r\nOK\r\n", command
            assert time.monotonic() - started >= latency, command


@pytest.mark.asyncio
async def test_network_latency_leaves_local_answers_alone(broker: BrokerInfo) -> None:
    """With a network that answers after an hour, what needs no network is answered now."""
    async with attached(broker, network_latency=3600) as host:
        assert await host.command("AT") == ["OK"]
        assert (await host.command("AT+MQTTCFG?"))[-1] == "OK"
        assert await host.command('AT+MQTTOPEN=0,"",1883') == ["+MQTTOPEN:0,1", "OK"]
        assert await host.command('AT+MQTTPUBEX=0,1,1,0,0,"t",4') == ["ERROR"]  # not connected


@pytest.mark.asyncio
async def test_prompt_latency_and_bytes_sent_before_the_prompt(broker: BrokerInfo) -> None:
    """The prompt comes ``prompt_latency`` late; bytes a host writes before it are not payload."""
    latency = 0.5
    async with attached(broker, prompt_latency=latency) as host:
        await host.open_and_connect()
        sub = await start_subscriber(broker, "late/prompt", count=1)
        try:
            started = time.monotonic()
            await host.send(b'AT+MQTTPUBEX=0,1,1,0,0,"late/prompt",5\r' + b"early")
            assert await host.read_until(b"CONNECT\r\n") == b"\r\nCONNECT\r\n"
            assert time.monotonic() - started >= latency
            await host.send(b"right")
            assert await host.read_until(*FINALS) == b"\r\n+MQTTPUBEX:0,1,0\r\n\r\nOK\r\n"
            (message,) = await sub.messages()
        finally:
            await sub.close()
        assert message.payload == b"right"


async def read_all(host: RawHost, marker: bytes, count: int) -> bytes:
    """What the host reads until ``marker`` came ``count`` times."""
    data = b""
    for _ in range(count):
        data += await host.read_until(marker)
    return data


@pytest.mark.asyncio
async def test_reboot_interval(broker: BrokerInfo) -> None:
    async with attached(broker, reboot_interval=0.2, banner="+SYSSTART") as host:
        assert (await read_all(host, b"+SYSSTART\r\n", 3)).count(b"\r\n+SYSSTART\r\n") == 3


@pytest.mark.asyncio
async def test_drop_interval(broker: BrokerInfo) -> None:
    """The sim cuts broker links on its own, and says so with ``link_lost_urc``."""
    async with attached(broker, drop_interval=0.2, link_lost_urc=True) as host:
        assert await host.command('AT+MQTTOPEN=3,"mqtt.ctwing.cn",1883') == ["+MQTTOPEN:3,0", "OK"]
        for _ in range(50):  # a drop that lands before the CONNACK fails CONN: try again
            if (await host.command('AT+MQTTCONN=3,"drop","",""'))[0] == "+MQTTCONN:3,0,0":
                break
        assert await host.read_until(b"+MQTTSTAT: 3,1\r\n") == b"\r\n+MQTTSTAT: 3,1\r\n"
