"""The virtual NM28 against the manual, byte for byte, with no driver in between."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from support.brokers import (
    BrokerInfo,
    PasswordBroker,
    free_port,
    publish_with_tool,
    start_subscriber,
)
from support.raw_host import FINALS, RawHost, lines
from support.rig import wait_until

from nm28_async.sim import InputMode, VirtualModem


@pytest_asyncio.fixture
async def host(sim: VirtualModem) -> AsyncIterator[RawHost]:
    """A raw host on the sim's pty with echo already off, so answers are the module's lines."""
    raw = await RawHost.open_pty(sim)
    assert (await raw.command("ATE0"))[-1] == "OK"
    yield raw
    await raw.close()


@pytest.mark.asyncio
async def test_manual_example_session(host: RawHost, broker: BrokerInfo) -> None:
    """Section 2.1 of the manual, line for line (the cloud host leads to the test broker)."""
    await host.open_and_connect(0, "1701491811")
    assert await host.command('AT+MQTTSUB=0,1,"valve_onoff_cmd",1') == ["+MQTTSUB:0,1,0,1", "OK"]
    downlink = b'{"taskId":5, "payload":{"valve_onoff":1}}'
    await publish_with_tool(broker, "valve_onoff_cmd", downlink)
    urc = await host.read_until(downlink + b"\r\n")
    assert re.fullmatch(
        rb"\r\n\+MQTTRECV: 0,\d+,valve_onoff_cmd,41," + re.escape(downlink) + rb"\r\n", urc
    )

    assert await host.command('AT+MQTTSUB=0,1,"data_report",1') == ["+MQTTSUB:0,1,0,1", "OK"]
    answer = await host.publish('AT+MQTTPUBEX=0,1,1,1,0,"data_report",16', b'{"water_flow":1}\x1a')
    # our own subscription brings the message back, before or after the publish result
    own = [x for x in answer if x.startswith("+MQTTRECV:")]
    if not own:
        own = lines(await host.read_until(b'{"water_flow":1}\r\n'))
    assert own == ['+MQTTRECV: 0,2,data_report,16,{"water_flow":1}'] or own[0].endswith(
        ',data_report,16,{"water_flow":1}'
    )
    assert [x for x in answer if not x.startswith("+MQTTRECV:")] == ["+MQTTPUBEX:0,1,0", "OK"]
    assert await host.command("AT+MQTTDISC=0") == ["+MQTTDISC:0,0", "OK"]
    assert await host.command("AT+MQTTCLOSE=0") == ["+MQTTCLOSE:0,0", "OK"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "line",
    [
        b'AT+MQTTOPEN=6,"127.0.0.1",1883',
        b"AT+MQTTOPEN=0,127.0.0.1,1883",
        b'AT+MQTTOPEN=0,"unterminated,1883',
        b'AT+MQTTSUB=0,0,"t",1',
        b'AT+MQTTSUB=0,1,"t",3',
        b'AT+MQTTSUB=0,1,"a/#/b",1',
        b'AT+MQTTSUB=0,65536,"t",1',
        b'AT+MQTTCFG="keepalive",0,9',
        b'AT+MQTTCFG="keepalive",0,291',
        b'AT+MQTTCFG="version",0,5',
        b'AT+MQTTCFG="timeout",0,61,3,0',
        b'AT+MQTTCFG="timeout",0,5,11,0',
        b'AT+MQTTCFG="will",0,1,3,0,"t","m"',
        b'AT+MQTTCFG="bogus",0,1',
        b'AT+MQTTCFG="session",6,1',
        b'AT+MQTTPUBEX=0,1,1,0,0,"t",2049',
        b'AT+MQTTPUBEX=0,1,1,0,0,"t",0',
        b'AT+MQTTPUBEX=0,1,1,0,3,"t",4',
        b'AT+MQTTPUBEX=0,1,1,0,0,"t",4',  # client 0 is not connected: no CONNECT prompt
        b'AT+MQTTCONN=0,"a","b","c","d"',
        b'AT+MQTTCONN=0,"a","b","c"',  # not open
        b"AT+MQTTCLOSE=x",
        b"AT+NOPE",
        b"AT+MQTTSUB?",
        b"ATX",
        b"ATE2",
        b"hello",
        b"AT\xff\xfe",
        b'AT+MQTTOPEN=0,"' + b"h" * 5000 + b'",1883',
    ],
)
async def test_malformed_or_out_of_range_is_error(host: RawHost, line: bytes) -> None:
    assert await host.command(line) == ["ERROR"]
    assert await host.command("AT") == ["OK"]


@pytest.mark.asyncio
async def test_open_bad_parameters_answer_result_1(host: RawHost) -> None:
    assert await host.command('AT+MQTTOPEN=0,"127.0.0.1",0') == ["+MQTTOPEN:0,1", "OK"]
    assert await host.command('AT+MQTTOPEN=0,"",1883') == ["+MQTTOPEN:0,1", "OK"]
    assert await host.command(f'AT+MQTTOPEN=0,"{"h" * 128}",1883') == ["+MQTTOPEN:0,1", "OK"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("line", "answer"),
    [
        ("AT+MQTTOPEN=?", "+MQTTOPEN: (0-5),<hostname>,(0-65535)"),
        ("AT+MQTTCLOSE=?", "+MQTTCLOSE: (0-5)"),
        ("AT+MQTTCONN=?", "+MQTTCONN: (0-5),(clientID),(username),(password)"),
        ("AT+MQTTUNS=?", "+MQTTUNS: (0-5),(1-65535),(topic)"),
        ("AT+MQTTPUBEX=?", "+MQTTPUBEX: (0-5),(0-65535),(0-2),(0,1),(0-2),(topic),(1-2048)"),
        ("AT+CTWINGPOSTVER=?", "+CTWINGPOSTVER: (0-5)"),
    ],
)
async def test_test_commands(host: RawHost, line: str, answer: str) -> None:
    assert await host.command(line) == [answer, "OK"]


@pytest.mark.asyncio
async def test_mqttcfg_test_and_query(host: RawHost) -> None:
    test = await host.command("AT+MQTTCFG=?")
    assert test[0] == '+MQTTCFG: "version",(0-5),(3,4)'
    assert test[-2:] == ['+MQTTCFG: "cached",(0-5),(0,1)', "OK"]
    assert len(test) == 10

    assert await host.command('AT+MQTTCFG="keepalive",2,60') == ["OK"]
    assert await host.command('AT+MQTTCFG="will",2,1,1,1,"dev/state","gone"') == ["OK"]
    assert await host.command('AT+MQTTCFG="timeout",2,7') == ["OK"]
    query = await host.command("AT+MQTTCFG?")
    assert query[-1] == "OK"
    assert len(query) == 6 * 16 + 1
    block = query[2 * 16 : 3 * 16]
    assert block[0] == "+MQTTCFG: 2"
    assert "keepalive:60" in block
    assert "will_fg:1 will_qos:1" in block
    assert 'will_topic:"dev/state"' in block
    assert "pkt_timeout:7" in block
    assert "retry_time:3" in block  # omitted trailing values keep their setting
    assert "msg_len_enable:1" in block  # a fresh module sends the length
    assert "keepalive:120" in query[:16]


@pytest.mark.asyncio
async def test_echo_is_on_until_ate0(sim: VirtualModem) -> None:
    raw = await RawHost.open_pty(sim)
    try:
        await raw.send(b"AT+CSQ\r")
        assert await raw.read_until(*FINALS) == b"AT+CSQ\r\r\n+CSQ: 24,99\r\n\r\nOK\r\n"
        await raw.send(b"ATE0\r")
        assert await raw.read_until(*FINALS) == b"ATE0\r\r\nOK\r\n"
        await raw.send(b"AT\r\n")  # CR LF is accepted too
        assert await raw.read_until(*FINALS) == b"\r\nOK\r\n"
        await raw.send(b"ATI\r")
        assert lines(await raw.read_until(*FINALS))[:2] == ["Yuge", "NM28"]
    finally:
        await raw.close()


@pytest.mark.asyncio
async def test_query_commands_show_state(host: RawHost) -> None:
    assert await host.command("AT+MQTTOPEN?") == ["OK"]
    await host.open_and_connect(3)
    assert await host.command("AT+MQTTOPEN?") == ['+MQTTOPEN: 3,"mqtt.ctwing.cn",1883', "OK"]
    states = await host.command("AT+MQTTCONN?")
    assert states == [f"+MQTTCONN: {i},{int(i == 3)}" for i in range(6)] + ["OK"]


@pytest.mark.asyncio
async def test_open_results_are_real(host: RawHost, broker: BrokerInfo) -> None:
    assert await host.command('AT+MQTTOPEN=1,"nm28-test.invalid",1883') == ["+MQTTOPEN:1,4", "OK"]
    closed = free_port()
    assert await host.command(f'AT+MQTTOPEN=1,"127.0.0.1",{closed}') == ["+MQTTOPEN:1,5", "OK"]
    opened = f'AT+MQTTOPEN=1,"{broker.host}",{broker.port}'
    assert await host.command(opened) == ["+MQTTOPEN:1,0", "OK"]
    assert await host.command(opened) == ["+MQTTOPEN:1,2", "OK"]
    assert await host.command("AT+MQTTCLOSE=1") == ["+MQTTCLOSE:1,0", "OK"]
    assert await host.command("AT+MQTTCLOSE=1") == ["+MQTTCLOSE:1,-1", "OK"]
    assert await host.command("AT+MQTTDISC=1") == ["+MQTTDISC:1,-1", "OK"]


@pytest.mark.asyncio
async def test_result_after_ok_frees_the_channel(broker: BrokerInfo) -> None:
    # a network that answers after an hour: its result cannot come within the test
    async with VirtualModem(broker.url, result_after_ok=True, network_latency=3600) as modem:
        raw = await RawHost.open_pty(modem)
        try:
            assert await raw.command("ATE0") == ["ATE0\r", "OK"]
            assert await raw.command('AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883') == ["OK"]
            # the network's answer is still pending; the channel already serves others
            assert await raw.command("AT+CSQ") == ["+CSQ: 24,99", "OK"]
        finally:
            await raw.close()


@pytest.mark.asyncio
async def test_result_after_ok_comes_when_the_network_answered(broker: BrokerInfo) -> None:
    async with VirtualModem(broker.url, result_after_ok=True, echo=False) as modem:
        raw = await RawHost.open_pty(modem)
        try:
            await raw.send(b'AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883\r')
            assert await raw.read_until(b"+MQTTOPEN:0,0\r\n") == b"\r\nOK\r\n\r\n+MQTTOPEN:0,0\r\n"
            await raw.send(b'AT+MQTTCONN=0,"late","",""\r')
            answer = await raw.read_until(b"+MQTTCONN:0,0,0\r\n")
            assert answer == b"\r\nOK\r\n\r\n+MQTTCONN:0,0,0\r\n"
            assert await raw.publish('AT+MQTTPUBEX=0,9,1,0,0,"late/t",3', b"abc") == ["OK"]
            answer = await raw.read_until(b"+MQTTPUBEX:0,9,0\r\n")
            assert answer == b"\r\n+MQTTPUBEX:0,9,0\r\n"
        finally:
            await raw.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("recv_mode", [None, (0, 0), (1, 1)])
async def test_mqttrecv_counts_bytes_and_keeps_them_raw(
    host: RawHost, broker: BrokerInfo, recv_mode: tuple[int, int] | None
) -> None:
    if recv_mode is not None:
        assert await host.command(f'AT+MQTTCFG="recv/mode",0,{recv_mode[0]},{recv_mode[1]}') == [
            "OK"
        ]
    await host.open_and_connect()
    assert await host.command('AT+MQTTSUB=0,5,"down/+",2') == ["+MQTTSUB:0,5,0,2", "OK"]
    payload = 'a,b\r\nc,"é"\r\n'.encode() + b"\x00\x1a\xff,"
    length = str(len(payload)).encode()
    if recv_mode is None:
        tail = b"," + length + b"," + payload + b"\r\n"
    elif recv_mode == (0, 0):
        tail = b"," + payload + b"\r\n"
    else:
        tail = b"," + length + b"\r\n"
    await publish_with_tool(broker, "down/x", payload, qos=2)
    urc = await host.read_until(tail)
    match = re.fullmatch(rb"\r\n\+MQTTRECV: 0,(\d+),down/x", urc.removesuffix(tail))
    assert match is not None
    assert int(match.group(1)) > 0
    assert host.unread() == b""


@pytest.mark.asyncio
async def test_pubex_payload_rules(host: RawHost, broker: BrokerInfo) -> None:
    await host.open_and_connect()
    binary = b"\x1a\r\n,\x00" + bytes(range(256)) + "ü".encode()
    sub = await start_subscriber(broker, "bin/t", count=2)
    try:
        answer = await host.publish(f'AT+MQTTPUBEX=0,2,1,0,0,"bin/t",{len(binary)}', binary)
        assert answer == ["+MQTTPUBEX:0,2,0", "OK"]  # no Ctrl-Z after the payload: tolerated
        answer = await host.publish('AT+MQTTPUBEX=0,3,2,0,0,"bin/t",2', b"ok\x1a")
        assert answer == ["+MQTTPUBEX:0,3,0", "OK"]
        received = await sub.messages()
    finally:
        await sub.close()
    assert [m.payload for m in received] == [binary, b"ok"]
    # a CR LF not counted in <length> fails the publish, as the manual warns
    answer = await host.publish('AT+MQTTPUBEX=0,4,1,0,0,"bin/t",16', b'{"water_flow":1}\r\n')
    assert answer == ["+MQTTPUBEX:0,4,-1", "OK"]
    assert await host.command("AT") == ["OK"]


@pytest.mark.asyncio
async def test_onenet_data_points(host: RawHost, broker: BrokerInfo) -> None:
    await host.open_and_connect(0, "device-1")
    sub = await start_subscriber(broker, "$sys/+/device-1/dp/post/json", count=1)
    try:
        answer = await host.publish('AT+MQTTPUBEX=0,4,1,0,2,"raw/t",13', b'{"temp":21.5}')
        assert answer == ["+MQTTPUBEX:0,4,0,0", "OK"]
        (message,) = await sub.messages()
    finally:
        await sub.close()
    assert message.topic == "$sys/u/device-1/dp/post/json"
    body = json.loads(message.payload)
    assert body["dp"] == {"temp": [{"v": 21.5}]}
    answer = await host.publish('AT+MQTTPUBEX=0,5,1,0,1,"raw/t",3', b"bad")
    assert answer == ["+MQTTPUBEX:0,5,-1", "OK"]


@pytest.mark.asyncio
async def test_ctwing_post_version(host: RawHost, broker: BrokerInfo) -> None:
    await host.open_and_connect()
    sub = await start_subscriber(broker, "/ota/inform", count=1)
    try:
        assert await host.command("AT+CTWINGPOSTVER=0") == ["+CTWINGPOSTVER:0", "OK"]
        (message,) = await sub.messages()
    finally:
        await sub.close()
    assert json.loads(message.payload)["taskId"] == -1


@pytest.mark.asyncio
async def test_dropped_link_delivers_the_will(
    host: RawHost, sim: VirtualModem, broker: BrokerInfo
) -> None:
    will = 'AT+MQTTCFG="will",0,1,1,0,"dev/status","offline, bye"'
    assert await host.command(will) == ["OK"]
    await host.open_and_connect()
    sub = await start_subscriber(broker, "dev/status", count=1)
    try:
        assert sim.drop_link(0)
        (message,) = await sub.messages()
    finally:
        await sub.close()
    assert message.payload == b"offline, bye"
    assert (await host.command("AT+MQTTCONN?"))[0] == "+MQTTCONN: 0,0"
    assert await host.command('AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883') == ["+MQTTOPEN:0,2", "OK"]
    assert await host.command('AT+MQTTSUB=0,1,"x",0') == ["+MQTTSUB:0,1,2", "OK"]
    assert await host.command("AT+MQTTCLOSE=0") == ["+MQTTCLOSE:0,0", "OK"]


@pytest.mark.asyncio
async def test_bad_credentials_report_the_connack_code(password_broker: PasswordBroker) -> None:
    info = password_broker.info
    async with VirtualModem(info.url) as modem:
        raw = await RawHost.open_pty(modem)
        try:
            assert await raw.command("ATE0") == ["ATE0\r", "OK"]
            assert await raw.command(f'AT+MQTTOPEN=0,"{info.host}",{info.port}') == [
                "+MQTTOPEN:0,0",
                "OK",
            ]
            answer = await raw.command('AT+MQTTCONN=0,"c","nm28","wrong"')
            assert answer[0] in ("+MQTTCONN:0,0,4", "+MQTTCONN:0,0,5")
            assert await raw.command("AT+MQTTCLOSE=0") == ["+MQTTCLOSE:0,0", "OK"]
            assert await raw.command(f'AT+MQTTOPEN=0,"{info.host}",{info.port}') == [
                "+MQTTOPEN:0,0",
                "OK",
            ]
            assert await raw.command('AT+MQTTCONN=0,"c","nm28","right-pass"') == [
                "+MQTTCONN:0,0,0",
                "OK",
            ]
        finally:
            await raw.close()


@pytest.mark.asyncio
async def test_reboot_mid_command_resets_state(host: RawHost, sim: VirtualModem) -> None:
    await host.open_and_connect()
    await host.send(b'AT+MQTTPUBEX=0,1,1,0,0,"t",100\r')
    await host.read_until(b"CONNECT\r\n")
    await host.send(b"half a payload")
    await sim.reboot(banner="RDY")
    assert lines(await host.read_until(b"RDY\r\n")) == ["RDY"]
    await host.send(b"AT\r")
    assert await host.read_until(*FINALS) == b"AT\r\r\nOK\r\n"  # echo is back on
    states = await host.command("AT+MQTTCONN?")
    assert states[1:] == [f"+MQTTCONN: {i},0" for i in range(6)] + ["OK"]


@pytest.mark.asyncio
async def test_inject_and_close_port(sim: VirtualModem) -> None:
    host = await RawHost.connect(await sim.serve_tcp())
    try:
        sim.inject(b"\r\n+UNKNOWN: 1\r\n")
        assert lines(await host.read_until(b"+UNKNOWN: 1\r\n")) == ["+UNKNOWN: 1"]
        sim.close_port()
        with pytest.raises(EOFError):
            await host.read_until(b"never")
    finally:
        await host.close()


@pytest.mark.asyncio
async def test_port_pulled_mid_payload_leaves_data_mode(host: RawHost, sim: VirtualModem) -> None:
    """After an unplug during a payload, the next host's AT is a command, not payload."""
    await host.open_and_connect()
    await host.send(b'AT+MQTTPUBEX=0,1,1,0,0,"t",100\r')
    await host.read_until(b"CONNECT\r\n")
    assert sim.input_mode is InputMode.PAYLOAD
    await host.send(b"half a payload")
    sim.close_port()
    await wait_until(lambda: sim.input_mode is InputMode.COMMAND, 20, "back in command mode")
    again = await RawHost.open_pty(sim)
    try:
        assert await again.command("AT") == ["OK"]  # the module kept its echo setting
    finally:
        await again.close()


@pytest.mark.asyncio
async def test_noise_interval_injects_unknown_lines(broker: BrokerInfo) -> None:
    async with VirtualModem(broker.url, noise_interval=0.05) as modem:
        raw = await RawHost.open_pty(modem)
        try:
            noise = await raw.read_until(b"+CGEV")
            assert b"+CEREG" in noise
        finally:
            await raw.close()


@pytest.mark.asyncio
async def test_latency_and_baudrate_knobs(broker: BrokerInfo) -> None:
    async with VirtualModem(broker.url, command_latency=0.3, baudrate=2400, echo=False) as modem:
        raw = await RawHost.open_pty(modem)
        try:
            started = time.monotonic()
            answer = await raw.command("ATI")
            elapsed = time.monotonic() - started
        finally:
            await raw.close()
    size = len(b"".join(b"\r\n" + x.encode() + b"\r\n" for x in answer))
    assert answer[-1] == "OK"
    assert elapsed >= 0.3 + 0.7 * size / 240  # 2400 baud 8N1 is 240 bytes/s


@pytest.mark.asyncio
async def test_pty_serving_survives_reopen(sim: VirtualModem) -> None:
    path = await sim.serve_pty()
    loop = asyncio.get_running_loop()
    for _ in range(2):
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            got = bytearray()
            readable = asyncio.Event()
            loop.add_reader(fd, readable.set)
            try:
                os.write(fd, b"AT\r")
                async with asyncio.timeout(20):
                    while b"OK\r\n" not in got:
                        await readable.wait()
                        readable.clear()
                        try:
                            got += os.read(fd, 4096)
                        except BlockingIOError:
                            continue
            finally:
                loop.remove_reader(fd)
        finally:
            os.close(fd)
        assert got.endswith(b"\r\nOK\r\n")


@pytest.mark.asyncio
async def test_commands_received_counts_what_reached_the_module(
    host: RawHost, sim: VirtualModem
) -> None:
    assert await host.command("AT") == ["OK"]
    assert await host.command("AT+MQTTCONN?") == [f"+MQTTCONN: {i},0" for i in range(6)] + ["OK"]
    assert await host.command("AT+MQTTCONN?") == [f"+MQTTCONN: {i},0" for i in range(6)] + ["OK"]
    assert await host.command("AT+NOPE") == ["ERROR"]  # not a command the module knows
    assert sim.commands_received == {"ATE": 1, "AT": 1, "AT+MQTTCONN?": 2, "AT+NOPE": 1}
