"""`nm28 sub` and `nm28 pub`: every argument is checked before the port opens, and a bad one is
one line on stderr and exit 2 (in process, against a port that records any connection)."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest

from nm28_async.tools import cli
from nm28_async.tools.shell.common import EXIT_USAGE


@pytest.fixture
def port() -> Iterator[tuple[str, socket.socket]]:
    """A `socket://` port whose listening socket tells whether anyone connected."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"socket://127.0.0.1:{server.getsockname()[1]}", server


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`nm28 ARGV` in process, whether argparse or the runner ends it: code, stdout, stderr."""
    try:
        code = cli.main(argv)
    except SystemExit as ended:
        code = ended.code if isinstance(ended.code, int) else -1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["sub", "-t", "a"], "the following arguments are required: -h/--host"),
        (["sub", "-h", "b", "-t", "a", "-q", "3"], "expected a QoS 0..2, got '3'"),
        (["sub", "-h", "b", "-t", "a/#/b"], "'#' must be the whole last level"),
        (["sub", "-h", "b", "-t", "a", "-C", "0"], "expected a count, 1 or more, got '0'"),
        (["sub", "-h", "b", "-t", "a", "-W", "0"], "expected a number of seconds above 0"),
        (["sub", "-h", "bad host", "-t", "a"], "neither an IP address nor a host name"),
        (["sub", "-h", "300.1.1.1", "-t", "a"], "300.1.1.1 is not an IPv4 address"),
        (["sub", "-h", "b", "-p", "0", "-t", "a"], "expected a port 1..65535, got '0'"),
        (["sub", "-h", "b", "-t", "a", "--client", "6"], "expected a client index 0..5"),
        (["sub", "-h", "b", "-t", "a", "-i", 'gw"1'], "AT strings cannot hold quotes"),
        (["pub", "-h", "b", "-t", "a"], "one of the arguments -m/--message -f/--file"),
        (["pub", "-h", "b", "-t", "a", "-m", "x", "-s"], "not allowed with argument"),
        (["pub", "-h", "b", "-t", "a/+", "-m", "x"], "wildcards '+' and '#' are only valid"),
        (["pub", "-h", "b", "-t", "a", "-m", "x", "-q", "-1"], "expected a QoS 0..2"),
        (["pub", "-h", "b", "-t", "a", "-f", "/nonexistent/x"], "cannot read /nonexistent/x"),
        (["pub", "-h", "b", "-t", "a", "-m", "x", "--will-payload", "bye"], "need --will-topic"),
        (["pub", "-h", "b", "-t", "a", "-m", "x", "--will-topic", "w/#"], "wildcards"),
        (["pub", "-h", "b", "-t", "a", "-m", "x", "--will-topic", "w", "--will-payload", 'a"'],
         "quote"),
        (["pub", "-h", "b", "-t", "a", "-m", "x", "-u", "me", "-P", 'se"cret'], "password"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)  # fmt: skip
def test_a_bad_argument_is_one_line_and_nothing_is_opened(
    argv: list[str],
    said: str,
    port: tuple[str, socket.socket],
    capsys: pytest.CaptureFixture[str],
) -> None:
    where, server = port
    code, _, err = run([argv[0], where, *argv[1:]], capsys)
    assert code == EXIT_USAGE
    assert err.count("\n") == 1, err
    assert said in err
    assert "cret" not in err  # a password never shows, not even a refused one
    assert select.select([server], [], [], 0)[0] == []  # nobody connected


@pytest.mark.parametrize("command", ["sub", "pub"])
def test_help_is_double_dash_since_h_is_the_host(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run([command, "--help"], capsys)
    assert code == 0
    assert out.startswith(f"usage: nm28 {command} [--help] -h HOST [-p PORT]")
    assert "-h HOST, --host HOST" in out
