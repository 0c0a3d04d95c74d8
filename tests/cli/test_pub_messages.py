"""What `nm28 pub` sends: `-l` (a message per line of stdin, as it is read), and what the
module cannot send said in one line, exit 2, before the port opens: an empty message (`-n`,
`-m ''`, an empty file or stdin; AT+MQTTPUBEX takes 1..2048 bytes) and a `-m` whose bytes are
not UTF-8. Each runs in its own process, as a user runs it."""

from __future__ import annotations

import asyncio
import select
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from support.brokers import BrokerInfo, publish_with_tool, require_tool
from support.cli import CEILING, one_line, read_line, run_cli, start_cli, start_sim, stop

from nm28_async.tools.shell.common import EXIT_OK, EXIT_USAGE


@pytest.fixture
def nobody() -> Iterator[tuple[str, socket.socket]]:
    """A `socket://` port whose listening socket tells whether anyone connected."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"socket://127.0.0.1:{server.getsockname()[1]}", server


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("how", "stdin"),
    [(("-n",), b""), (("-m", ""), b""), (("-s",), b""), (("-f", "EMPTY"), b"")],
    ids=["-n", "-m ''", "-s", "-f"],
)
async def test_an_empty_message_is_refused_saying_why(
    how: tuple[str, ...], stdin: bytes, nobody: tuple[str, socket.socket], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    args = [str(empty) if arg == "EMPTY" else arg for arg in how]
    where, server = nobody
    code, out, err = await run_cli("pub", where, "-h", "b", "-t", "a", "-r", *args, stdin=stdin)
    assert code == EXIT_USAGE
    line = one_line(err)
    assert "cannot send an empty message (AT+MQTTPUBEX takes 1..2048 bytes)" in line
    assert "a retained message cannot be cleared through it" in line
    assert out == ""
    assert select.select([server], [], [], 0)[0] == []  # nothing opened


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("option", "said"),
    [("-m", "argument -m/--message: not UTF-8 (byte 0xe9 at position 3); -f FILE or -s"),
     ("--will-payload", "argument --will-payload: not UTF-8 (byte 0xe9 at position 3)"),
     ("-P", "argument -P/--pw: not UTF-8 (byte 0xe9 at position 3)")],
)  # fmt: skip
async def test_text_that_is_not_utf8_is_one_line(
    option: str, said: str, nobody: tuple[str, socket.socket]
) -> None:
    """Bytes that are not UTF-8 reach Python's argv as lone surrogates (surrogateescape)."""
    where, server = nobody
    base = ["pub", where, "-h", "b", "-t", "a", "--will-topic", "w"]
    args = base + (["-m", "caf\udce9"] if option == "-m" else ["-m", "x", option, "caf\udce9"])
    code, out, err = await run_cli(*args)
    assert code == EXIT_USAGE
    assert said in one_line(err)
    assert "caf" not in err  # the text itself is never shown: it may be a password
    assert out == ""
    assert select.select([server], [], [], 0)[0] == []


@pytest_asyncio.fixture
async def port(broker: BrokerInfo) -> AsyncIterator[str]:
    sim, where = await start_sim("--tcp", "127.0.0.1:0", "--broker", broker.url)
    try:
        yield f"socket://{where}"
    finally:
        assert await stop(sim) == 0


async def heard(broker: BrokerInfo, topic: str) -> asyncio.subprocess.Process:
    """mosquitto_sub on `topic` (lines `topic|payload in hex`), once it is subscribed: a
    retained probe on a second filter comes back, and is read off, when both are in place."""
    probe = f"{topic}-probe"
    await publish_with_tool(broker, probe, b"probe", retain=True)
    proc = await asyncio.create_subprocess_exec(
        require_tool("mosquitto_sub"), "-h", broker.host, "-p", str(broker.port), "-t", topic,
        "-t", probe, "-q", "1", "-F", "%t|%x", stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert await read_line(proc.stdout) == f"{probe}|{b'probe'.hex()}"
    return proc


async def next_payload(listener: asyncio.subprocess.Process) -> bytes:
    _, _, payload = (await read_line(listener.stdout)).partition("|")
    return bytes.fromhex(payload)


@pytest.mark.asyncio
async def test_pub_l_sends_each_line_as_it_is_read(port: str, broker: BrokerInfo) -> None:
    listener = await heard(broker, "lines/t")
    pub = await start_cli(
        "pub", port, "-h", broker.host, "-p", str(broker.port), "-t", "lines/t", "-l", "-q", "1"
    )
    try:
        assert pub.stdin is not None
        pub.stdin.write(b"one\n\n")
        await pub.stdin.drain()
        # published while stdin is still open; the blank line is skipped
        assert await next_payload(listener) == b"one"
        pub.stdin.write("tw\u00f6\r\n".encode() + b"\xff three")  # the last without a line end
        pub.stdin.close()
        assert await asyncio.wait_for(pub.wait(), CEILING) == EXIT_OK
        assert await next_payload(listener) == "tw\u00f6\r".encode()  # only \n ends a line
        assert await next_payload(listener) == b"\xff three"
        assert pub.stderr is not None
        assert await pub.stderr.read() == b""
    finally:
        for proc in (pub, listener):
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


@pytest.mark.asyncio
async def test_pub_l_ends_on_sigterm_and_at_a_line_the_module_cannot_take(
    port: str, broker: BrokerInfo
) -> None:
    listener = await heard(broker, "lines/u")
    args = ("pub", port, "-h", broker.host, "-p", str(broker.port), "-t", "lines/u", "-l")
    pub = await start_cli(*args)
    try:
        assert pub.stdin is not None
        pub.stdin.write(b"first\n")
        await pub.stdin.drain()
        assert await next_payload(listener) == b"first"
        pub.send_signal(signal.SIGTERM)  # stdin still open: it stops reading, frees its client
        assert await asyncio.wait_for(pub.wait(), CEILING) == EXIT_OK
        code, _, err = await run_cli(*args, stdin=b"ok\n" + b"x" * 2049 + b"\nnever\n")
        assert code == EXIT_USAGE
        assert one_line(err) == (
            "nm28 pub: line 2 of stdin: payload must be 1..2048 bytes, got 2049 bytes "
            "(1 sent before it)"
        )
        assert await next_payload(listener) == b"ok"
    finally:
        for proc in (pub, listener):
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
