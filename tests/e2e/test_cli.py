"""The `nm28` command as a user runs it: `sim` in its own process, `at` and `demo` against it."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time

import pytest
from support.brokers import BrokerInfo, MosquittoFactory
from support.raw_host import FINALS, RawHost, lines

pytestmark = pytest.mark.e2e

CLI = (sys.executable, "-m", "nm28_async.cli")


async def run_cli(*args: str, timeout: float = 60.0) -> tuple[int, str, str]:
    """Run `nm28 ARGS...` to completion; its exit code, stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def start_sim(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    """Start `nm28 sim ARGS...`; return it once it printed `listening on <where>`."""
    proc = await asyncio.create_subprocess_exec(
        *CLI, "sim", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    assert proc.stdout is not None
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line, "nm28 sim exited before it was listening"
        if line.startswith("listening on "):
            return proc, line.removeprefix("listening on ").strip()


async def stop(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), 30)


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
async def test_demo_runs_and_every_message_arrives(broker: BrokerInfo) -> None:
    code, out, err = await run_cli(
        "demo", "--duration", "1.5", "--interval", "0.2", "--broker", broker.url, timeout=90
    )
    assert code == 0, err
    assert "result: every message arrived" in out
    for index in range(6):
        assert f"dev{index} ← command taskId=" in out
