"""`nm28 sub` and `nm28 pub` against `nm28 sim --tcp` and a real broker, checked with
mosquitto's own clients on the other side."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from support.brokers import BrokerInfo, require_tool
from support.cli import CEILING, one_line, read_line, run_cli, start_cli, start_sim, stop

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Rig:
    broker: BrokerInfo
    port: str
    """What `nm28 sub` and `nm28 pub` open: `socket://` to `nm28 sim --tcp`."""

    def args(self, *more: str) -> tuple[str, ...]:
        return (self.port, "-h", self.broker.host, "-p", str(self.broker.port), *more)


@pytest_asyncio.fixture
async def rig(broker: BrokerInfo) -> AsyncIterator[Rig]:
    sim, where = await start_sim("--tcp", "127.0.0.1:0", "--broker", broker.url)
    try:
        yield Rig(broker, f"socket://{where}")
    finally:
        assert await stop(sim) == 0


async def mosquitto_pub(broker: BrokerInfo, topic: str, message: str, *more: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        require_tool("mosquitto_pub"), "-h", broker.host, "-p", str(broker.port),
        "-t", topic, "-m", message, "-q", "1", *more,
    )  # fmt: skip
    assert await asyncio.wait_for(proc.wait(), CEILING) == 0


async def retained(broker: BrokerInfo, topic: str) -> str:
    """The message the broker retains on `topic` (mosquitto_sub prints only retained ones)."""
    proc = await asyncio.create_subprocess_exec(
        require_tool("mosquitto_sub"), "-h", broker.host, "-p", str(broker.port), "-t", topic,
        "--retained-only", "-C", "1", "-W", "10", stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), CEILING)
    return out.decode().rstrip("\n")


@pytest.mark.asyncio
async def test_sub_prints_what_mosquitto_pub_sends_and_ends_after_count(rig: Rig) -> None:
    # a retained message arrives as soon as the subscription is made: then it is safe to publish
    await mosquitto_pub(rig.broker, "shell/first", "retained, seen on subscribing", "-r")
    sub = await start_cli("sub", *rig.args("-t", "shell/#", "-t", "other", "-q", "1", "-v",
                                           "-C", "3"))  # fmt: skip
    assert await read_line(sub.stdout) == "shell/first retained, seen on subscribing"
    await mosquitto_pub(rig.broker, "shell/json", '{"temperature": 21.5}')
    assert await read_line(sub.stdout) == 'shell/json {"temperature": 21.5}'
    await mosquitto_pub(rig.broker, "other", "héllo, wörld")
    assert await read_line(sub.stdout) == "other héllo, wörld"
    assert await asyncio.wait_for(sub.wait(), CEILING) == 0  # -C 3: done, exit 0
    assert sub.stderr is not None
    assert await sub.stderr.read() == b""


@pytest.mark.asyncio
async def test_sub_without_v_prints_payloads_only(rig: Rig) -> None:
    await mosquitto_pub(rig.broker, "shell/plain", "just the payload", "-r")
    code, out, err = await run_cli("sub", *rig.args("-t", "shell/plain", "-C", "1"))
    assert (code, out, err) == (0, "just the payload\n", "")


@pytest.mark.asyncio
async def test_sub_that_times_out_exits_27_like_mosquitto_sub(rig: Rig) -> None:
    await mosquitto_pub(rig.broker, "shell/once", "one", "-r")
    started = time.monotonic()
    code, out, err = await run_cli("sub", *rig.args("-t", "shell/once", "-C", "2", "-W", "1"))
    assert time.monotonic() - started >= 1.0
    assert code == 27
    assert out == "one\n"
    assert one_line(err) == "nm28 sub: timed out after 1 s (1 of 2 messages)"


@pytest.mark.asyncio
async def test_sub_frees_its_client_on_sigterm(rig: Rig) -> None:
    """Stopped like any server (SIGTERM), it disconnects and closes, so the index is free."""
    await mosquitto_pub(rig.broker, "shell/term", "x", "-r")
    sub = await start_cli("sub", *rig.args("-t", "shell/term", "--client", "3"))
    assert await read_line(sub.stdout) == "x"
    assert await stop(sub) == 0
    code, out, _ = await run_cli("sub", *rig.args("-t", "shell/term", "--client", "3", "-C", "1"))
    assert (code, out) == (0, "x\n")


@pytest.mark.asyncio
async def test_pub_is_received_by_mosquitto_sub(rig: Rig, tmp_path: Path) -> None:
    listener = await asyncio.create_subprocess_exec(
        require_tool("mosquitto_sub"), "-h", rig.broker.host, "-p", str(rig.broker.port),
        "-t", "shell/pub/#", "-q", "1", "-F", "%t %q %r %p", "-C", "4",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        # mosquitto_sub says nothing when subscribed: a retained message tells us it is
        await mosquitto_pub(rig.broker, "shell/pub/ready", "ready", "-r")
        assert re.fullmatch(r"shell/pub/ready 1 [01] ready", await read_line(listener.stdout))
        code, _, err = await run_cli(
            "pub", *rig.args("-t", "shell/pub/m", "-m", "héllo", "-q", "1")
        )
        assert (code, err) == (0, "")
        assert await read_line(listener.stdout) == "shell/pub/m 1 0 héllo"
        document = tmp_path / "reading.json"
        document.write_text('{"seq": 7}')
        code, _, err = await run_cli("pub", *rig.args("-t", "shell/pub/f", "-f", str(document),
                                                      "-r", "--client", "5"))  # fmt: skip
        assert (code, err) == (0, "")
        assert await read_line(listener.stdout) == 'shell/pub/f 0 0 {"seq": 7}'
        assert await retained(rig.broker, "shell/pub/f") == '{"seq": 7}'
        code, _, err = await run_cli("pub", *rig.args("-t", "shell/pub/s", "-s"),
                                     stdin=b"from stdin")  # fmt: skip
        assert (code, err) == (0, "")
        assert await read_line(listener.stdout) == "shell/pub/s 0 0 from stdin"
        assert await asyncio.wait_for(listener.wait(), CEILING) == 0
    finally:
        if listener.returncode is None:
            listener.kill()
            await listener.wait()


@pytest.mark.asyncio
async def test_pub_with_a_will_and_a_login_shows_a_masked_timestamped_trace(rig: Rig) -> None:
    code, out, err = await run_cli(
        "pub", *rig.args("-t", "shell/w", "-m", "x", "-u", "dev", "-P", "s3cret-pass", "-i", "gw-7",
                         "--will-topic", "shell/gone", "--will-payload", "bye", "--will-qos",
                         "1", "-d"),
    )  # fmt: skip
    assert (code, out) == (0, "")
    assert "s3cret-pass" not in err
    assert "Traceback" not in err
    stamp = r"\d\d:\d\d:\d\d\.\d{3}"
    lines = err.splitlines()
    for wanted in (
        rf'{stamp} → AT\+MQTTCFG="will",0,1,1,0,"shell/gone","bye"',
        rf'{stamp} → AT\+MQTTCONN=0,"gw-7","dev","\*\*\*"',
        rf"{stamp} ← \+MQTTCONN: ?0,0,0",
        rf"{stamp} ← OK",
        rf"{stamp} → AT\+MQTTCLOSE=0",
    ):
        assert any(re.fullmatch(wanted, line) for line in lines), (wanted, err)


@pytest.mark.asyncio
async def test_pub_to_a_broker_that_is_not_there_is_one_line_and_exit_1(rig: Rig) -> None:
    code, _, err = await run_cli(
        "pub", rig.port, "-h", "127.0.0.1", "-p", "1", "-t", "t", "-m", "x"
    )
    assert code == 1
    assert "open on client 0 failed" in one_line(err)
