"""`nm28 demo` as a user runs it: its default run, live on a terminal and as plain lines, with
its faults survived and nothing lost; its failures in one line."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.brokers import BrokerInfo, MosquittoFactory, free_port, require_tool
from support.cli import CLI, one_line, run_cli
from support.tls_ca import make_cert_authority

from nm28_async.tools.mosquitto import find_program

pytestmark = pytest.mark.e2e

DEFAULT_RUN_LIMIT = 180.0
"""A ceiling for one default run (about 25 s) on a busy machine, never a pace."""
ROW = re.compile(r" +(\d) +(\w[\w ]*?) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +[\d.]+ +(\d+)")


def has_mosquitto() -> bool:
    """What the demo itself looks for (it ignores the suite's NM28_TEST_BROKER)."""
    return find_program("mosquitto") is not None


async def default_run_on_a_terminal() -> tuple[int, str]:
    """`nm28 demo` with its stdout on a pty: its exit code and what the terminal showed."""
    master, slave = pty.openpty()
    process = await asyncio.create_subprocess_exec(
        *CLI, "demo", stdout=slave, stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200", "TERM": "xterm"},
    )  # fmt: skip
    os.close(slave)
    screen = bytearray()
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(DEFAULT_RUN_LIMIT):
            while chunk := await loop.run_in_executor(None, _read, master):
                screen += chunk
            code = await process.wait()
    finally:
        os.close(master)
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    assert await process.stderr.read() == b""
    return code, screen.decode()


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the demo exited and closed its side
        return b""


def check_summary(out: str) -> None:
    """Nothing lost, and every fault happened and was survived, as the summary counts it."""
    assert "result: every message arrived and every client survived every fault" in out
    restarts = 1 if has_mosquitto() else 0
    assert (
        f"faults injected: broker restart {restarts}, coverage loss 1, module reboot 1, "
        "dropped link 1; "
        "module reboots seen by the driver: 1"
    ) in out
    rows = [m.groups() for line in out.splitlines() if (m := ROW.fullmatch(line))]
    assert [int(row[0]) for row in rows] == list(range(6))
    for index, state, sent, seen, commands, received, reconnects, dropped in rows:
        assert state == "connected"
        assert int(sent) == int(seen) > 0
        assert int(commands) == int(received) > 0
        faults = restarts + 2 + (index == "2")  # the dropped link is client 2's
        assert int(reconnects) >= faults
        assert dropped == "0"


@pytest.mark.asyncio
async def test_default_run_survives_its_faults_on_a_terminal_and_in_a_pipe() -> None:
    """The two default runs at once: on a terminal (colours, a status line) and into a pipe
    (plain lines)."""
    piped, (code, screen) = await asyncio.gather(
        run_cli("demo", timeout=DEFAULT_RUN_LIMIT), default_run_on_a_terminal()
    )
    assert code == 0, screen[-3000:]
    check_summary(screen.replace("\r\n", "\n").replace("\x1b[K", ""))
    assert "\x1b[32m" in screen  # telemetry in green
    assert re.search(r"clients 0. 1. 2. 3. 4. 5. │ telemetry \d+ │ commands \d+/\d+", screen)
    code, out, err = piped
    assert (code, err) == (0, ""), out[-3000:]
    check_summary(out)
    assert "\x1b" not in out  # plain lines
    assert "watch along: mosquitto_sub -h 127.0.0.1 -p " in out
    assert re.search(
        r' AT +→ AT\+MQTTSUB=0,1,"devices/0/commands",1 · \+MQTTSUB: ?0,1,0,1 · OK', out
    )
    if has_mosquitto():
        assert "broker restart: every client connected again after" in out


@pytest.mark.asyncio
async def test_demo_runs_and_every_message_arrives(broker: BrokerInfo) -> None:
    code, out, err = await run_cli(
        "demo", "--duration", "1.5", "--interval", "0.2", "--broker", broker.url, timeout=60
    )
    assert code == 0, out[-2000:] + err
    assert "result: every message arrived and every client survived every fault" in out
    assert "broker restart: skipped (the demo does not restart your broker)" in out
    assert (
        "faults injected: broker restart 0, coverage loss 1, module reboot 1, dropped link 1" in out
    )
    for index in range(6):
        assert re.search(rf'dev{index} +↓ command {{"taskId": \d+, "payload": ', out)


@pytest.mark.asyncio
async def test_demo_at_a_broker_that_does_not_answer(mosquitto: MosquittoFactory) -> None:
    code, out, err = await run_cli("demo", "--broker", f"mqtt://127.0.0.1:{free_port()}")
    assert code == 1
    assert "cannot reach the broker" in one_line(err)
    silent = mosquitto.start()
    mosquitto.pause(silent)  # accepts the TCP connection, never answers CONNECT
    code, out, err = await run_cli("demo", "--broker", silent.url)
    assert code == 1
    assert "did not answer" in one_line(err)
    assert "result:" not in out


@pytest.mark.asyncio
async def test_demo_counts_only_what_was_really_published(broker: BrokerInfo) -> None:
    """Publishing flat out, the end of the run must not leave a publish half done and then
    count the platform's copy of it as one too many."""
    code, out, err = await run_cli(
        "demo",
        "--duration",
        "1.5",
        "--interval",
        "0.001",
        "--broker",
        broker.url,
        "--no-faults",
        timeout=90,
    )
    assert code == 0, out[-2000:] + err
    assert "result: every message arrived" in out


@dataclass(frozen=True)
class TlsLoginBroker:
    info: BrokerInfo
    ca_cert: Path


@pytest.fixture
def tls_login_broker(mosquitto: MosquittoFactory, tmp_path: Path) -> TlsLoginBroker:
    """mosquitto speaking only TLS (a test CA) and letting only nm28/right-pass in."""
    require_tool("openssl")
    authority = make_cert_authority(tmp_path / "pki")
    passwords = tmp_path / "passwd"
    subprocess.run(
        [require_tool("mosquitto_passwd"), "-c", "-b", str(passwords), "nm28", "right-pass"],
        check=True,
    )
    os.chmod(passwords, 0o600)
    info = mosquitto.start(
        anonymous=False, extra=(*authority.mosquitto_lines(), f"password_file {passwords}")
    )
    return TlsLoginBroker(info, authority.ca_cert)


@pytest.mark.asyncio
async def test_demo_over_mqtts_with_a_login(tls_login_broker: TlsLoginBroker) -> None:
    url = f"mqtts://nm28:right-pass@127.0.0.1:{tls_login_broker.info.port}"
    trust = {**os.environ, "SSL_CERT_FILE": str(tls_login_broker.ca_cert)}  # the test CA only
    code, out, err = await run_cli(
        "demo",
        "--duration",
        "1.5",
        "--interval",
        "0.2",
        "--broker",
        url,
        "--no-faults",
        env=trust,
        timeout=60,
    )
    assert code == 0, out[-2000:] + err
    assert "result: every message arrived" in out
    assert "right-pass" not in out + err
    code, _, err = await run_cli(
        "demo", "--broker", url.replace("right-pass", "wrong-pass"), env=trust
    )
    assert code == 1
    assert "refused the platform" in one_line(err)
    assert "wrong-pass" not in err


@pytest.mark.asyncio
async def test_demo_whose_devices_cannot_connect_ends_in_one_line(
    mosquitto: MosquittoFactory,
) -> None:
    full = mosquitto.start(extra=("max_connections 1",))  # room for the platform, not six more
    code, out, err = await run_cli("demo", "--duration", "1", "--broker", full.url, timeout=90)
    assert code == 1
    assert re.fullmatch(
        r"nm28 demo: client \d could not connect within 10 s: connect on client \d failed: .*",
        one_line(err),
    )
    assert "result:" not in out
