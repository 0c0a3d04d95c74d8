"""The `nm28` command as a user runs it: `sim` in its own process, `at` and `demo` against it."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time

import pytest
from support.brokers import (
    BrokerInfo,
    MosquittoFactory,
    start_subscriber,
)
from support.cli import CLI, one_line, run_cli, start_sim, stop
from support.raw_host import FINALS, RawHost, lines

from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e


@pytest.mark.asyncio
async def test_sim_on_tcp_answers_at_commands_from_the_at_command(broker: BrokerInfo) -> None:
    sim, where = await start_sim("--tcp", "127.0.0.1:0", "--broker", broker.url)
    try:
        code, out, err = await run_cli(
            "at", f"socket://{where}", "AT+CSQ", f'AT+MQTTOPEN=0,"127.0.0.1",{broker.port}',
            "AT+MQTTOPEN?",
        )  # fmt: skip
        assert (code, err) == (0, "")
        lines = out.splitlines()
        assert lines[0] == "> AT+CSQ"
        assert lines[1].startswith("+CSQ: ")
        assert "+MQTTOPEN:0,0" in lines  # the manual's spelling
        assert f'+MQTTOPEN: 0,"127.0.0.1",{broker.port}' in lines
    finally:
        assert await stop(sim) == 0


@pytest.mark.asyncio
async def test_at_command_reports_errors_with_exit_codes(broker: BrokerInfo) -> None:
    sim, where = await start_sim("--tcp", "127.0.0.1:0", "--broker", broker.url)
    try:
        code, _, err = await run_cli("at", f"socket://{where}", "AT+MQTTOPEN=9")
        assert code == 1
        assert "AT+MQTTOPEN=9 failed: ERROR" in err
        code, _, err = await run_cli("at", f"socket://{where}", 'AT+X="a\rb"')
        assert code == 2
        assert "control character" in err
    finally:
        await stop(sim)


@pytest.mark.asyncio
async def test_sim_on_a_pty_prints_its_path(broker: BrokerInfo) -> None:
    sim, where = await start_sim("--pty", "--broker", broker.url, "--no-echo")
    try:
        assert where.startswith("/dev/pts/")
        code, out, _ = await run_cli("at", where, "AT")
        assert (code, out.splitlines()) == (0, ["> AT", "OK"])
    finally:
        await stop(sim)


@pytest.mark.asyncio
async def test_sim_flags_reach_the_module(mosquitto: MosquittoFactory) -> None:
    """What other firmware prints, asked for on the command line, as a host reads it."""
    info = mosquitto.start()
    sim, where = await start_sim(
        "--tcp", "127.0.0.1:0", "--broker", info.url, "--no-echo", "--spaced-results",
        "--quoted-recv", "--prompt", ">", "--link-lost-urc", "--network-latency", "0.2",
        "--prompt-latency", "0.2",
    )  # fmt: skip
    host_name, port = where.rsplit(":", 1)
    host = await RawHost.connect((host_name, int(port)))
    try:
        started = time.monotonic()
        opened = await host.command(f'AT+MQTTOPEN=0,"{info.host}",{info.port}')
        assert opened == ["+MQTTOPEN: 0,0", "OK"]
        assert time.monotonic() - started >= 0.2
        assert await host.command('AT+MQTTCONN=0,"cli","",""') == ["+MQTTCONN: 0,0,0", "OK"]
        assert await host.command('AT+MQTTSUB=0,1,"cli/t",1') == ["+MQTTSUB: 0,1,0,1", "OK"]
        started = time.monotonic()
        await host.send(b'AT+MQTTPUBEX=0,2,1,0,0,"cli/t",2\r')
        assert await host.read_until(b"> ") == b"\r\n> "
        assert time.monotonic() - started >= 0.2
        await host.send(b"hi")
        got = await host.read_until(b'"cli/t",2,"hi"\r\n')  # our own message comes back
        if b"\r\nOK\r\n" not in got:
            got += await host.read_until(*FINALS)
        answer = lines(got)
        assert [x for x in answer if not x.startswith("+MQTTRECV")] == ["+MQTTPUBEX: 0,2,0", "OK"]
        (echoed,) = [x for x in answer if x.startswith("+MQTTRECV")]
        assert re.fullmatch(r'\+MQTTRECV: 0,\d+,"cli/t",2,"hi"', echoed)
        mosquitto.stop(info)
        assert await host.read_until(b"+MQTTSTAT: 0,1\r\n") == b"\r\n+MQTTSTAT: 0,1\r\n"
    finally:
        await host.close()
        assert await stop(sim) == 0


@pytest.mark.asyncio
async def test_sim_fault_intervals(broker: BrokerInfo) -> None:
    sim, where = await start_sim(
        "--tcp", "127.0.0.1:0", "--broker", broker.url, "--reboot-interval", "0.2",
        "--banner", "+SYSSTART", "--drop-interval", "0.1",
    )  # fmt: skip
    host_name, port = where.rsplit(":", 1)
    host = await RawHost.connect((host_name, int(port)))
    try:
        for _ in range(3):
            assert (await host.read_until(b"+SYSSTART\r\n")).endswith(b"\r\n+SYSSTART\r\n")
    finally:
        await host.close()
        assert await stop(sim) == 0


@pytest.mark.asyncio
async def test_at_checks_every_line_before_it_opens_the_port() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        code, out, err = await run_cli(
            "at", f"socket://127.0.0.1:{port}", "AT+CSQ", 'AT+MQTTSUB=0,1,"t",1', 'AT+X="a\rb"'
        )
        # The CLI has exited: a connection it made finished its handshake in the kernel
        # and would wait in the accept queue now.
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    assert code == 2
    assert "control character" in one_line(err)
    assert out == ""


@pytest.mark.asyncio
async def test_at_prints_result_lines_that_come_after_ok_and_sends_a_payload(
    broker: BrokerInfo,
) -> None:
    async with VirtualModem(broker.url, result_after_ok=True, network_latency=0.3) as sim:
        host, port = await sim.serve_tcp()
        sub = await start_subscriber(broker, "cli/t", count=1)
        try:
            code, out, err = await run_cli(
                "at", f"socket://{host}:{port}", f'AT+MQTTOPEN=0,"{broker.host}",{broker.port}',
                'AT+MQTTCONN=0,"cli-at","",""', 'AT+MQTTPUBEX=0,7,1,0,0,"cli/t",6',
                "AT+MQTTDISC=0", "AT+MQTTCLOSE=0", "--payload", "héllo",
            )  # fmt: skip
            (received,) = await sub.messages()
        finally:
            await sub.close()
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f'> AT+MQTTOPEN=0,"{broker.host}",{broker.port}', "OK", "+MQTTOPEN:0,0",
        '> AT+MQTTCONN=0,"cli-at","","***"', "OK", "+MQTTCONN:0,0,0",
        '> AT+MQTTPUBEX=0,7,1,0,0,"cli/t",6', "OK", "+MQTTPUBEX:0,7,0",
        "> AT+MQTTDISC=0", "OK", "+MQTTDISC:0,0",
        "> AT+MQTTCLOSE=0", "OK", "+MQTTCLOSE:0,0",
    ]  # fmt: skip
    assert received.payload == "héllo".encode()


@pytest.mark.asyncio
async def test_at_waits_for_a_result_line_no_longer_than_told(broker: BrokerInfo) -> None:
    async with VirtualModem(broker.url, result_after_ok=True, network_latency=30) as sim:
        host, port = await sim.serve_tcp()
        code, out, err = await run_cli(
            "at", f"socket://{host}:{port}", f'AT+MQTTOPEN=0,"{broker.host}",{broker.port}',
            "--result-timeout", "0.5",
        )  # fmt: skip
    assert code == 1
    assert "no result line within 0.5 s" in one_line(err)
    assert out.splitlines() == [f'> AT+MQTTOPEN=0,"{broker.host}",{broker.port}']


@pytest.mark.asyncio
async def test_at_into_a_closed_pipe_ends_with_one_line(sim: VirtualModem) -> None:
    host, port = await sim.serve_tcp()
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    try:
        proc = await asyncio.create_subprocess_exec(
            *CLI, "at", f"socket://{host}:{port}", "AT", "AT",
            stdout=write_end, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
    finally:
        os.close(write_end)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 141, err.decode()
    assert one_line(err.decode()) == "nm28 at: output closed (broken pipe)"


@pytest.mark.asyncio
async def test_sim_that_cannot_listen_says_why_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        in_use = taken.getsockname()[1]
        code, out, err = await run_cli("sim", "--tcp", f"127.0.0.1:{in_use}")
        assert code == 1
        assert "address already in use" in one_line(err)
        assert "listening" not in out
    code, _, err = await run_cli("sim", "--tcp", "999.1.1.1:5000")
    assert code == 2
    assert "999.1.1.1 is not an IPv4 address" in one_line(err)
