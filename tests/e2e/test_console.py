"""`nm28 at PORT -i`, the interactive console: driven through a pipe and through a terminal
(a pty, with readline), against a virtual NM28 that prints URCs while the console waits."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import time
from pathlib import Path

import pytest
from support.brokers import BrokerInfo, publish_with_tool
from support.cli import CEILING, CLI, ended, read_line, read_until, start_cli

from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e


@pytest.mark.asyncio
async def test_console_from_a_pipe_shows_answers_late_results_and_urcs(broker: BrokerInfo) -> None:
    async with VirtualModem(broker.url, result_after_ok=True) as sim:
        host, port = await sim.serve_tcp()
        console = await start_cli("at", f"socket://{host}:{port}", "-i")
        try:
            await converse(console, sim, broker)
        finally:
            await ended(console)


async def converse(
    console: asyncio.subprocess.Process, sim: VirtualModem, broker: BrokerInfo
) -> None:
    assert console.stdin is not None

    async def send(line: str, until: str) -> list[str]:
        assert console.stdin is not None
        console.stdin.write(line.encode() + b"\n")
        return await read_until(console.stdout, until)

    assert (await send("AT+CSQ", "OK"))[0] == "> AT+CSQ"
    sim.inject(b'\r\n+NM28TEST: 1,"while idle"\r\n')
    assert await read_line(console.stdout) == '+NM28TEST: 1,"while idle"'
    # the module answers OK first, then the result line (in the manual's spelling) when the
    # broker did
    assert await send(f'AT+MQTTOPEN=0,"{broker.host}",{broker.port}', "+MQTTOPEN") == [
        f'> AT+MQTTOPEN=0,"{broker.host}",{broker.port}', "OK", "+MQTTOPEN:0,0",
    ]  # fmt: skip
    assert await send('AT+MQTTCONN=0,"console","me","s3cret"', "+MQTTCONN") == [
        '> AT+MQTTCONN=0,"console","me","***"', "OK", "+MQTTCONN:0,0,0",
    ]  # fmt: skip
    await send('AT+MQTTSUB=0,1,"console/t",0', "+MQTTSUB:0,1,0,0")
    await publish_with_tool(broker, "console/t", b"hello", qos=0)
    assert re.fullmatch(r"\+MQTTRECV: 0,\d+,console/t,5,hello", await read_line(console.stdout))
    assert await send("CSQ", "invalid") == ["> CSQ", "invalid: command must start with 'AT'"]
    assert await send("AT+MQTTOPEN=9", "ERROR") == ["> AT+MQTTOPEN=9", "ERROR"]
    console.stdin.close()
    assert await asyncio.wait_for(console.wait(), CEILING) == 0
    assert console.stderr is not None
    assert await console.stderr.read() == b""


class Terminal:
    """The console on a pty, as a person at a terminal sees it."""

    def __init__(self, master: int, process: asyncio.subprocess.Process) -> None:
        self.master = master
        self.process = process
        self.screen = b""
        """Everything the console wrote to the terminal so far."""
        self._seen = 0

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    async def expect(self, wanted: bytes) -> bytes:
        """What the console writes from here up to and including `wanted`."""
        deadline = time.monotonic() + CEILING
        while (at := self.screen.find(wanted, self._seen)) < 0:
            assert time.monotonic() < deadline, (wanted, self.screen[self._seen :])
            try:
                self.screen += os.read(self.master, 4096)
            except BlockingIOError:
                await asyncio.sleep(0.02)
        start, self._seen = self._seen, at + len(wanted)
        return self.screen[start : self._seen]


@pytest.mark.asyncio
async def test_console_on_a_terminal_redraws_the_prompt_keeps_history_and_no_password(
    sim: VirtualModem, tmp_path: Path
) -> None:
    host, port = await sim.serve_tcp()
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    env = {**os.environ, "HOME": str(tmp_path), "TERM": "xterm"}
    process = await asyncio.create_subprocess_exec(
        *CLI, "at", f"socket://{host}:{port}", "-i", "-v",
        stdin=slave, stdout=slave, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    os.close(slave)
    terminal = Terminal(master, process)
    try:
        await terminal.expect(b"> ")
        terminal.type(b"AT+CSQ\r")
        answer = await terminal.expect(b"\r\nOK\r\n")
        assert re.search(rb"\d\d:\d\d:\d\d\.\d{3} \xe2\x86\x92 AT\+CSQ", answer)  # -v: the trace
        assert b"+CSQ: " in answer
        terminal.type(b"AT+C")  # half typed when a URC arrives
        await terminal.expect(b"AT+C")
        sim.inject(b"\r\n+NM28TEST: 2\r\n")
        await terminal.expect(b"\r\x1b[K+NM28TEST: 2\r\n> AT+C")  # above the prompt, redrawn
        terminal.type(b"SQ\r")
        await terminal.expect(b"\r\nOK\r\n")
        terminal.type(b'AT+MQTTCONN=0,"c","u","pw-s3cret"\r')
        await terminal.expect(b'"pw-s3cret"\r\n')  # as typed; from here on masked
        assert b"pw-s3cret" not in await terminal.expect(b"ERROR\r\n")  # not open: refused
        terminal.type(b"\x1b[A\r")  # up: AT+CSQ from the history (the password line is not)
        assert b"+CSQ: " in await terminal.expect(b"\r\nOK\r\n")
        terminal.type(b"\x04")  # Ctrl-D on an empty line ends the console
        assert await asyncio.wait_for(process.wait(), CEILING) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        os.close(master)
    assert process.stderr is not None
    assert await process.stderr.read() == b""
    history = (tmp_path / ".nm28_history").read_text()
    assert "AT+CSQ" in history
    assert "s3cret" not in history
    assert terminal.screen.count(b"pw-s3cret") == 1  # where it was typed, and only there
