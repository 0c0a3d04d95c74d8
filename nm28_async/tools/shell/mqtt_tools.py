"""`nm28 sub` and `nm28 pub`: mosquitto_sub and mosquitto_pub, through the module.

The options are mosquitto's (so `-h` is the broker's host and help is `--help`), and all of
them are checked before the port opens. The command uses one of the module's six clients
(`--client`): configured, opened and connected by `modem.mqtt()`, which disconnects and
closes it however the command ends, so the index is free for the next user.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import anyio

from ...client import Will
from ...errors import Nm28Error
from ...modem import Modem
from ...protocol import commands, limits
from ...protocol.events import Message
from ...session import ConnectionParams
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_TIMED_OUT,
    EXIT_USAGE,
    Runner,
    Subcommand,
    add_port,
    fail,
    host,
    network_port,
    one_line_per_failure,
    positive_seconds,
    setup_logging,
    text,
    utf8,
    whole,
)

_qos = whole("a QoS", limits.QOS_LEVELS)


def _add_connection(p: argparse.ArgumentParser, tool: str) -> None:
    """The options both commands share: port, broker, login, client index."""
    p.add_argument("--help", action="help", help="show this help and exit (-h is the host)")
    p.add_argument(
        "-h", "--host", type=host, required=True, help="the broker's host name or address, as "
        "the module dials it (required)",
    )  # fmt: skip
    p.add_argument(
        "-p", "--port", dest="broker_port", type=network_port, default=1883, metavar="PORT",
        help="the broker's port (default: %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "-i", "--id", type=text, metavar="ID",
        help=f"client id (default: {tool}- and the process id)",
    )  # fmt: skip
    p.add_argument("-u", "--username", type=text, default="", help="user name (default: none)")
    p.add_argument(
        "-P", "--pw", type=text, default="", metavar="PASSWORD", help="password (default: none)"
    )
    p.add_argument(
        "--client", type=whole("a client index", limits.CLIENT_INDEXES), default=0,
        metavar="N", help="which of the module's clients, 0..5 (default: %(default)s)",
    )  # fmt: skip
    add_port(p)
    p.add_argument(
        "-d", "--debug", action="store_true",
        help="show the timestamped wire trace on stderr, secrets masked (default: off)",
    )  # fmt: skip


def add_sub(subparsers: argparse._SubParsersAction[Subcommand]) -> Runner:
    p = subparsers.add_parser(
        "sub", add_help=False, help="subscribe through the module and print what arrives, "
        "as mosquitto_sub",
    )  # fmt: skip
    _add_connection(p, "nm28-sub")
    p.add_argument(
        "-t", "--topic", action="append", dest="topics", type=text, required=True,
        metavar="TOPIC",
        help="a topic filter to subscribe to, may be repeated (required)",
    )  # fmt: skip
    p.add_argument(
        "-q", "--qos", type=_qos, default=0, help="QoS of the subscriptions (default: 0)"
    )
    p.add_argument(
        "-v", "--verbose", action="store_true",
        help="print the topic, a space, then the payload (default: the payload only)",
    )  # fmt: skip
    p.add_argument(
        "-C", "--count", type=whole("a count", range(1, 1 << 31)), metavar="COUNT",
        help="exit (0) after COUNT messages (default: never)",
    )  # fmt: skip
    p.add_argument(
        "-W", "--timeout", type=positive_seconds, metavar="SECONDS",
        help=f"exit ({EXIT_TIMED_OUT}) when SECONDS have passed since connecting, unless -C "
        "ended it first (default: never)",
    )  # fmt: skip
    return _run_sub


def add_pub(subparsers: argparse._SubParsersAction[Subcommand]) -> Runner:
    p = subparsers.add_parser(
        "pub", add_help=False, help="publish a message (or one per line of stdin) through the "
        "module, as mosquitto_pub",
    )  # fmt: skip
    _add_connection(p, "nm28-pub")
    p.add_argument("-t", "--topic", type=text, required=True, help="the topic (required)")
    what = p.add_mutually_exclusive_group(required=True)
    one_of = "one of -m, -f, -s, -l, -n is required"
    what.add_argument(
        "-m", "--message", type=utf8("-f FILE or -s send other bytes"),
        help=f"the message, sent as UTF-8 ({one_of})",
    )  # fmt: skip
    what.add_argument("-f", "--file", type=Path, help=f"send the file's bytes ({one_of})")
    what.add_argument(
        "-s", "--stdin-file", action="store_true", help=f"send all of stdin ({one_of})"
    )
    what.add_argument(
        "-l", "--stdin-line", action="store_true",
        help="send each line of stdin (without its line end) as a message of its own, as it "
        f"is read; blank lines are skipped, as the module cannot send them ({one_of})",
    )  # fmt: skip
    what.add_argument(
        "-n", "--null-message", action="store_true",
        help=f"a zero-length message: refused, as the module cannot send one ({one_of})",
    )  # fmt: skip
    p.add_argument("-q", "--qos", type=_qos, default=0, help="QoS (default: 0)")
    p.add_argument("-r", "--retain", action="store_true", help="retain it (default: off)")
    p.add_argument(
        "--will-topic", type=text, metavar="TOPIC",
        help="the client's last will topic (default: no will)",
    )  # fmt: skip
    p.add_argument(
        "--will-payload", type=text, default="", metavar="TEXT",
        help="the will's message (default: empty)",
    )  # fmt: skip
    p.add_argument(
        "--will-qos", type=_qos, default=0, metavar="QOS", help="the will's QoS (default: 0)"
    )
    p.add_argument("--will-retain", action="store_true", help="retain the will (default: off)")
    return _run_pub


# --- what they run ------------------------------------------------------------------------


def _run_sub(args: argparse.Namespace) -> int:
    def check() -> None:
        for topic in args.topics:
            commands.subscribe(args.client, 1, topic, args.qos)

    return _run("nm28 sub", args, {}, check, _subscribe)


NO_EMPTY = (
    "the module cannot send an empty message (AT+MQTTPUBEX takes "
    f"{limits.PAYLOAD_BYTES.start}..{limits.PAYLOAD_BYTES.stop - 1} bytes), so a retained "
    "message cannot be cleared through it: clear it from a host that reaches the broker "
    "(mosquitto_pub -r -n -t TOPIC)"
)
"""Why `-n`, `-m ''` and an empty file or stdin are refused."""


def _run_pub(args: argparse.Namespace) -> int:
    if args.will_topic is None and (args.will_payload or args.will_qos or args.will_retain):
        return fail("nm28 pub", "--will-payload, --will-qos and --will-retain need --will-topic",
                    EXIT_USAGE)  # fmt: skip
    try:
        args.payload = _payload(args)
    except OSError as exc:
        return fail("nm28 pub", f"cannot read {args.file}: {exc.strerror}", EXIT_USAGE)
    if args.payload == b"":
        return fail("nm28 pub", NO_EMPTY, EXIT_USAGE)
    will = (
        {}
        if args.will_topic is None
        else {"will": Will(args.will_topic, args.will_payload, args.will_qos, args.will_retain)}
    )

    def check() -> None:  # -l: the lines are checked as they are read
        commands.publish(args.client, 1, args.topic, args.payload or b"-", qos=args.qos,
                         retain=args.retain)  # fmt: skip

    return _run("nm28 pub", args, will, check, _publish_lines if args.stdin_line else _publish)


def _payload(args: argparse.Namespace) -> bytes | None:
    """The one message to send; None for -l (a message per line, read as they come)."""
    if args.message is not None:
        return str(args.message).encode("utf-8")
    if args.file is not None:
        return Path(args.file).read_bytes()
    if args.stdin_file:
        return sys.stdin.buffer.read()
    if args.null_message:
        return b""
    return None


Body = Callable[[argparse.Namespace, dict[str, Any]], Coroutine[Any, Any, int]]


def _run(
    who: str,
    args: argparse.Namespace,
    config: dict[str, Any],
    check: Callable[[], None],
    body: Body,
) -> int:
    """Check every argument with the driver's own encoders (exit 2), then run `body`; a
    failure of the module, the network or the broker is one line and exit 1."""
    tool = who.replace(" ", "-")
    connection = {
        "host": args.host, "port": args.broker_port,
        "client_id": args.id if args.id is not None else f"{tool}-{os.getpid()}",
        "username": args.username, "password": args.pw, **config,
    }  # fmt: skip
    try:
        ConnectionParams(**connection)
        check()
    except ValueError as exc:
        return fail(who, exc, EXIT_USAGE)
    setup_logging(args.debug)
    with one_line_per_failure():
        try:
            code = asyncio.run(body(args, connection))
        except Nm28Error as exc:
            return fail(who, exc, EXIT_FAILED)
    return code


async def _publish(args: argparse.Namespace, connection: dict[str, Any]) -> int:
    async with (
        Modem.open(args.port, baudrate=args.baudrate) as modem,
        modem.mqtt(args.client, **connection) as client,
    ):
        await client.publish(args.topic, args.payload, args.qos, args.retain)
    return EXIT_OK


async def _publish_lines(args: argparse.Namespace, connection: dict[str, Any]) -> int:
    """-l: each line of stdin a message, published (and acknowledged) as it is read, until
    the end of stdin or SIGTERM (0). A line the module cannot take ends it (2), saying which
    and how many were sent before it."""
    sent = 0
    async with (
        Modem.open(args.port, baudrate=args.baudrate) as modem,
        modem.mqtt(args.client, **connection) as client,
    ):
        with anyio.CancelScope() as stop:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.cancel)
            async for number, line in stdin_lines():
                if not line:
                    continue  # the module cannot send an empty message
                try:
                    commands.as_payload(line)
                except ValueError as exc:
                    return fail("nm28 pub", f"line {number} of stdin: {exc} ({sent} sent before "
                                "it)", EXIT_USAGE)  # fmt: skip
                await client.publish(args.topic, line, args.qos, args.retain)
                sent += 1
    return EXIT_OK


async def stdin_lines() -> AsyncIterator[tuple[int, bytes]]:
    """The lines of stdin as they come (each numbered from 1, without its line end, a last one
    without a line end included). A thread of its own reads the file descriptor (a pipe, a
    terminal or a file alike, stdin left blocking); it is a daemon, so a read that never ends
    does not hold the process at exit."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()

    def read() -> None:
        while True:
            try:
                chunk = os.read(sys.stdin.fileno(), 65536)
            except OSError:
                chunk = b""
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, chunk)
            except RuntimeError:  # the loop is closed: nobody reads any more
                return
            if not chunk:
                return

    threading.Thread(target=read, name="nm28 pub -l", daemon=True).start()
    pending = b""
    number = 0
    while chunk := await chunks.get():
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            number += 1
            yield number, line
    if pending:
        yield number + 1, pending


async def _subscribe(args: argparse.Namespace, connection: dict[str, Any]) -> int:
    """Print messages until `-C` of them came (0), `-W` ran out (27) or SIGTERM (0)."""
    received = 0
    async with (
        Modem.open(args.port, baudrate=args.baudrate) as modem,
        modem.mqtt(args.client, **connection) as client,
    ):
        with anyio.move_on_after(args.timeout) as deadline, anyio.CancelScope() as stop:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.cancel)
            for topic in args.topics:
                await client.subscribe(topic, args.qos)
            async for message in client.messages():
                _print(message, args.verbose)
                received += 1
                if received == args.count:
                    break
    if deadline.cancelled_caught:
        wanted = f"{received} of {args.count} messages" if args.count else f"{received} messages"
        return fail("nm28 sub", f"timed out after {args.timeout:g} s ({wanted})", EXIT_TIMED_OUT)
    return EXIT_OK


def _print(message: Message, verbose: bool) -> None:
    """The payload's bytes as they came (mosquitto_sub's default format), after the topic and a
    space with -v."""
    out = sys.stdout.buffer
    if verbose:
        out.write(message.topic_bytes + b" ")
    out.write(message.payload + b"\n")
    out.flush()
