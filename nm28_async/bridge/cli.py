"""`nm28 bridge`: its flags (mosquitto's, so `-h` is the cloud broker's host and help is
`--help`), `--config FILE.toml`, and the function that runs it.

Every flag and the config file are checked before the port opens: anything wrong is one line
on stderr and exit 2. A failure while running is one line and exit 1; SIGTERM drains and exits
0, SIGINT 130. This module imports neither aiomqtt nor prometheus-client (the `[bridge]`
extra): without them `nm28 bridge` says which extra to install.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from collections.abc import Sequence
from typing import Any

from ..errors import Nm28Error
from ..protocol import limits
from ..tools.shell.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    Runner,
    Subcommand,
    baudrate,
    fail,
    network_port,
    positive_seconds,
    seconds_or_zero,
    setup_logging,
    whole,
)
from .options import Options, build, load_config

WHO = "nm28 bridge"
BRIDGE_EXTRA = "pip install 'nm28-async[bridge]'"
_EXTRA_MODULES = ("aiomqtt", "prometheus_client")

DESCRIPTION = (
    "Bridge a local MQTT broker to the cloud through the module: --forward filters go local to "
    "cloud through a durable outbox (a local QoS 1 message is acknowledged once stored), "
    "--receive filters cloud to local; /metrics and /healthz with --metrics."
)
EPILOG = (
    "Every option is also a key of --config FILE.toml (a flag --max-age is the key max_age; "
    "flags win, --forward/--receive/--topic add to the file's). exit codes: 0 stopped by "
    "SIGTERM; 1 the module, a broker or the outbox failed; 2 invalid flags or config (nothing "
    "opened); 130 SIGINT."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Every flag defaults to None (not given), so the config file fills what is left."""
    p.add_argument("--help", action="help", help="show this help and exit (-h is the host)")
    p.add_argument(
        "module", nargs="?", metavar="PORT",
        help="the module's device path or pyserial URL (or module = ... in the config)",
    )  # fmt: skip
    p.add_argument(
        "--config", metavar="FILE.toml",
        help="read options from a TOML file (default: none; flags override it)",
    )  # fmt: skip
    p.add_argument(
        "-h", "--host", help="the cloud broker's host, as the module dials it (required)"
    )
    p.add_argument(
        "-p", "--port", type=network_port, metavar="PORT",
        help="the cloud broker's port (default: 1883)",
    )  # fmt: skip
    p.add_argument("-i", "--id", metavar="ID", help="cloud client id (default: nm28-bridge)")
    p.add_argument("-u", "--username", help="cloud user name (default: none)")
    p.add_argument(
        "-P", "--pw", dest="password", metavar="PASSWORD", help="cloud password (default: none)"
    )  # fmt: skip
    p.add_argument(
        "--client", type=whole("a client index", limits.CLIENT_INDEXES), metavar="N",
        help="which of the module's clients, 0..5 (default: 0)",
    )  # fmt: skip
    p.add_argument("--baudrate", type=baudrate, metavar="N", help="line speed (default: 115200)")
    p.add_argument(
        "--keepalive", type=whole("a keepalive", range(0, 65536)), metavar="S",
        help="MQTT keepalive of both connections, seconds (default: 60)",
    )  # fmt: skip
    p.add_argument(
        "--local", metavar="URL", help="the local broker, mqtt://[USER:PASS@]HOST[:PORT] "
        "(required)",
    )  # fmt: skip
    p.add_argument("--local-id", metavar="ID", help="local client id (default: nm28-bridge-ID)")
    p.add_argument(
        "--local-session-expiry", type=whole("seconds", range(0, 1 << 32)), metavar="S",
        help="how long the local broker keeps the bridge's session and queued messages while it "
        "is away (default: 4294967295, forever)",
    )  # fmt: skip
    p.add_argument(
        "--forward", action="append", metavar="FILTER",
        help="carry local messages matching FILTER to the cloud (repeatable; default: none)",
    )  # fmt: skip
    p.add_argument(
        "--receive", action="append", metavar="FILTER",
        help="carry cloud messages matching FILTER to the local broker (repeatable; default: none)",
    )  # fmt: skip
    p.add_argument(
        "--topic", action="append", metavar="LINE",
        help="a mosquitto bridge topic line: 'PATTERN [out|in|both [QOS [LOCAL REMOTE]]]' "
        "(repeatable; default: none)",
    )  # fmt: skip
    p.add_argument(
        "-q", "--qos", type=whole("a QoS", limits.QOS_LEVELS),
        help="QoS of --forward and --receive (default: 1)",
    )  # fmt: skip
    p.add_argument(
        "--store", metavar="PATH",
        help="the durable outbox (sqlite); without it the outbox is in memory and a crash "
        "loses what it holds (default: in memory)",
    )  # fmt: skip
    p.add_argument(
        "--outbox-size", type=whole("a size", range(1, 1 << 31)), metavar="N",
        help="outbox capacity, messages (default: 100000)",
    )  # fmt: skip
    p.add_argument(
        "--overflow", choices=("drop-oldest", "fail"),
        help="what a full outbox does (default: drop-oldest)",
    )  # fmt: skip
    p.add_argument(
        "--max-age", type=positive_seconds, metavar="S",
        help="drop outbox messages older than S seconds (default: never)",
    )  # fmt: skip
    p.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve /metrics and /healthz (port 0: any free; default: not served)",
    )
    p.add_argument(
        "--backoff-initial", type=positive_seconds, metavar="S",
        help="first reconnection delay (default: 0.5)",
    )  # fmt: skip
    p.add_argument(
        "--backoff-maximum", type=positive_seconds, metavar="S",
        help="longest reconnection delay (default: 30)",
    )  # fmt: skip
    p.add_argument(
        "--poll-interval", type=positive_seconds, metavar="S",
        help="how often the session checks the cloud link (default: 30)",
    )  # fmt: skip
    p.add_argument(
        "--status-interval", type=positive_seconds, metavar="S",
        help="how often registration and signal are read for the metrics (default: 30)",
    )  # fmt: skip
    p.add_argument(
        "--drain-timeout", type=seconds_or_zero, metavar="S",
        help="on SIGTERM, seconds to let the outbox drain while the link is up (default: 10)",
    )  # fmt: skip
    p.add_argument(
        "--echo-window", type=whole("a count", range(0, 1 << 31)), metavar="N",
        help="forwarded messages remembered to drop their echo from the cloud (default: 10000)",
    )  # fmt: skip
    p.add_argument(
        "-d", "--debug", action="store_const", const=True,
        help="show the wire trace and the bridge's INFO lines on stderr, secrets masked "
        "(default: off)",
    )  # fmt: skip


def add_parser(subparsers: argparse._SubParsersAction[Subcommand]) -> Runner:
    """Register `bridge` on `nm28`'s subcommands; the function that runs it."""
    p = subparsers.add_parser(
        "bridge", add_help=False, help="bridge a local broker to the cloud through the module",
        description=DESCRIPTION, epilog=EPILOG,
    )  # fmt: skip
    add_arguments(p)
    return main_args


def parser() -> Subcommand:
    p = Subcommand(prog=WHO, add_help=False, description=DESCRIPTION, epilog=EPILOG)
    add_arguments(p)
    return p


def options_from(args: argparse.Namespace) -> Options:
    """The flags over the config file's values; ValueError on anything wrong."""
    flags: dict[str, Any] = dict(vars(args))
    flags.pop("command", None)
    config_path = flags.pop("config", None)
    config = load_config(config_path) if config_path is not None else None
    return build(flags, config)


def _missing_extra() -> str | None:
    for name in _EXTRA_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            return f"needs aiomqtt and prometheus-client, the [bridge] extra ({reason}): " + (
                BRIDGE_EXTRA
            )
    return None


def main_args(args: argparse.Namespace) -> int:
    """Run `nm28 bridge` with parsed arguments; the exit code."""
    try:
        options = options_from(args)
    except ValueError as exc:
        return fail(WHO, exc, EXIT_USAGE)
    missing = _missing_extra()
    if missing is not None:
        return fail(WHO, missing, EXIT_USAGE)
    from . import run as running  # needs the extra
    from .uplink import FatalError

    setup_logging(options.debug)
    try:
        return asyncio.run(running.run(options))
    except BaseException as exc:
        error = running.first_error(exc)
        if isinstance(error, KeyboardInterrupt):
            return running.EXIT_INTERRUPTED
        if isinstance(error, Nm28Error | FatalError | OSError):
            return fail(WHO, error, EXIT_FAILED)
        if isinstance(error, ValueError | TypeError):
            return fail(WHO, error, EXIT_FAILED)
        return fail(WHO, f"{type(error).__name__}: {error}", EXIT_FAILED)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m nm28_async.bridge ARGS`: the same command outside `nm28`."""
    args = parser().parse_args(argv)
    return main_args(args)
