"""The `nm28` command as a user runs it: `sim` in its own process, `at` and `demo` against it."""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest
from support.brokers import BrokerInfo

pytestmark = pytest.mark.e2e

CLI = (sys.executable, "-m", "nm28_async.cli")


async def run_cli(*args: str, timeout: float = 30.0) -> tuple[int, str, str]:
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
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert line, "nm28 sim exited before it was listening"
        if line.startswith("listening on "):
            return proc, line.removeprefix("listening on ").strip()


async def stop(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), 10)


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
async def test_demo_runs_and_every_message_arrives(broker: BrokerInfo) -> None:
    code, out, err = await run_cli(
        "demo", "--duration", "1.5", "--interval", "0.2", "--broker", broker.url, timeout=60
    )
    assert code == 0, err
    assert "result: every message arrived" in out
    for index in range(6):
        assert f"dev{index} ← command taskId=" in out
