"""nm28: the virtual NM28 (`sim`), the demo (`demo`), AT commands to a module (`at`, and its
console `at -i`), and mosquitto's clients through the module (`sub`, `pub`).

Each subcommand registers its own parser and the function that runs it. A failure is one line
on stderr and an exit code (EXIT_*), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from ..bridge import cli as bridge_cli
from ..protocol.broker_url import FORM, BrokerUrl
from .shell import console, mqtt_tools
from .shell.common import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Parser,
    Runner,
    Subcommand,
    add_port,
    baudrate,
    broker,
    fail,
    one_line_per_failure,
    positive_seconds,
    say,
    seconds_or_zero,
    setup_logging,
    tcp_address,
    text,
)

if TYPE_CHECKING:
    from ..protocol.commands import Command
    from ..sim import ReplayModule, VirtualModem


SIM_EXTRA = "pip install 'nm28-async[sim]'"
"""How to get what `nm28 sim` and `nm28 demo` need beyond the driver."""
_SIM_MODULES = ("paho.mqtt.client", "amqtt.broker")
"""The `[sim]` extra's packages, as the virtual NM28 imports them (paho-mqtt, amqtt)."""


def _without_sim_extra(who: str) -> int | None:
    """Exit 2 (one line naming the extra) when the `[sim]` extra's packages cannot be imported;
    None when they can."""
    for name in _SIM_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            return fail(
                who, f"needs paho-mqtt and amqtt, the [sim] extra ({reason}): {SIM_EXTRA}",
                EXIT_USAGE,
            )  # fmt: skip
    return None


def _sim_broker(text: str) -> BrokerUrl:
    url = broker(text)
    if url.username or url.password:
        raise argparse.ArgumentTypeError(
            "the virtual NM28 takes no credentials: its clients log in with AT+MQTTCONN"
        )
    return url


# --- nm28 sim ---------------------------------------------------------------------------

_SIM_SECONDS: tuple[tuple[str, Callable[[str], float], float | None, str], ...] = (
    ("--network-latency", seconds_or_zero, 0.0, "extra seconds of every network-bound "
     "command; with the result before OK, OK waits too (default: 0)"),
    ("--command-latency", seconds_or_zero, 0.0, "delay before answering each command "
     "(default: 0)"),
    ("--prompt-latency", seconds_or_zero, 0.0, "delay before the prompt of AT+MQTTPUBEX "
     "(default: 0)"),
    ("--noise-interval", positive_seconds, None, "inject an unknown URC or junk every S "
     "seconds (default: never)"),
    ("--drop-interval", positive_seconds, None, "cut a broker link every S seconds, round "
     "robin (default: never)"),
    ("--reboot-interval", positive_seconds, None, "reboot every S seconds (default: never)"),
    ("--coverage-drop-interval", positive_seconds, None, "lose radio coverage every S seconds: "
     "registration URCs, links dropped, AT+MQTTOPEN answers 3 (default: never)"),
    ("--coverage-drop-duration", positive_seconds, None, "how long each outage of "
     "--coverage-drop-interval lasts (default: 3)"),
)  # fmt: skip
"""The simulator's timing knobs: flag, parser, default, help."""


def _add_sim(subparsers: argparse._SubParsersAction[Subcommand]) -> Runner:
    p = subparsers.add_parser("sim", help="run the virtual NM28 on a pty or a TCP port")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--pty", action="store_true",
        help="serve on a new pseudo-terminal and print its path (this or --tcp is required)",
    )  # fmt: skip
    where.add_argument(
        "--tcp", type=tcp_address, metavar="HOST:PORT",
        help="serve on TCP, port 0 for any free one; reach it as socket://HOST:PORT (this or "
        "--pty is required)",
    )  # fmt: skip
    p.add_argument(
        "--broker", type=_sim_broker, metavar="URL",
        help="where the platforms' host names lead, mqtt://HOST[:PORT] or mqtts://... "
        "(default: an embedded broker on a free loopback port)",
    )  # fmt: skip
    p.add_argument(
        "--result-after-ok", action="store_true",
        help="print OK first and the result line when the broker answered (default: the "
        "manual's order, result line then OK)",
    )  # fmt: skip
    p.add_argument(
        "--baudrate", type=baudrate, metavar="N",
        help="pace output like an 8N1 UART at N baud (default: unpaced)",
    )  # fmt: skip
    p.add_argument(
        "--no-echo", action="store_true", help="power on with echo off (default: echo on)"
    )
    p.add_argument(
        "--spaced-results", action="store_true",
        help="print '+MQTTOPEN: 0,0' (default: the manual's '+MQTTOPEN:0,0')",
    )  # fmt: skip
    p.add_argument(
        "--quoted-recv", action="store_true",
        help='quote topic and payload: +MQTTRECV: 0,3,"a/b",5,"hello" (default: unquoted)',
    )  # fmt: skip
    p.add_argument(
        "--prompt", choices=("CONNECT", ">"), default="CONNECT",
        help="what precedes a PUBEX payload (default: CONNECT, as in the manual)",
    )  # fmt: skip
    p.add_argument(
        "--link-lost-urc", action="store_true",
        help="print +MQTTSTAT: <idx>,<code> when a broker link drops (default: none, as in "
        "the manual)",
    )  # fmt: skip
    for flag, parse, default, explained in _SIM_SECONDS:
        p.add_argument(flag, type=parse, default=default, metavar="S", help=explained)
    p.add_argument(
        "--banner", default="RDY", help="line printed after a reboot (default: %(default)s)"
    )
    p.add_argument(
        "--replay", type=Path, metavar="FILE",
        help="play back the module's side of a recording (Modem.open(record=...), nm28 at "
        "--record) instead of simulating one; the knobs above do not apply (default: off)",
    )  # fmt: skip
    p.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG (default: off)")
    return _run_sim


def _record_file(text: str) -> Path:
    """A file `--record` can write, checked before the port is opened."""
    path = Path(text)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write a recording to {text!r}")
    return path


def _run_sim(args: argparse.Namespace) -> int:
    missing = _without_sim_extra("nm28 sim")
    if missing is not None:
        return missing
    if args.replay is not None:  # a recording that reads as one, before anything starts
        from ..sim.replay import read_recording

        try:
            read_recording(args.replay)
        except (OSError, ValueError) as exc:
            return fail("nm28 sim", exc, EXIT_USAGE)
    setup_logging(args.verbose)
    try:
        return asyncio.run(_serve_sim(args))
    except ValueError as exc:
        return fail("nm28 sim", exc, EXIT_USAGE)
    except OSError as exc:  # port in use, address not local, name unknown, broker down
        return fail("nm28 sim", exc, EXIT_FAILED)


async def _serve_sim(args: argparse.Namespace) -> int:
    """Serve until SIGTERM (exit 0) or SIGINT (Ctrl-C, exit 130). After the first, the
    signals are the default ones again: a second Ctrl-C interrupts a slow shutdown."""
    stop = asyncio.Event()
    stopped_by: list[signal.Signals] = []
    loop = asyncio.get_running_loop()
    stopping = (signal.SIGINT, signal.SIGTERM)

    def stopped(sig: signal.Signals) -> None:
        stopped_by.append(sig)
        for each in stopping:
            loop.remove_signal_handler(each)
        stop.set()

    for sig in stopping:
        loop.add_signal_handler(sig, stopped, sig)
    if args.replay is not None:
        await _serve_replay(args, stop)
    else:
        await _serve_virtual(args, stop)
    return EXIT_INTERRUPTED if stopped_by == [signal.SIGINT] else EXIT_OK


async def _serve_virtual(args: argparse.Namespace, stop: asyncio.Event) -> None:
    from ..sim import VirtualModem  # the sim's extra dependencies only when it runs

    async with VirtualModem(
        None if args.broker is None else f"mqtt://{args.broker.address}",
        result_after_ok=args.result_after_ok,
        network_latency=args.network_latency,
        command_latency=args.command_latency,
        prompt_latency=args.prompt_latency,
        baudrate=args.baudrate,
        echo=not args.no_echo,
        spaced_results=args.spaced_results,
        quoted_recv=args.quoted_recv,
        prompt=args.prompt,
        link_lost_urc=args.link_lost_urc,
        noise_interval=args.noise_interval,
        drop_interval=args.drop_interval,
        reboot_interval=args.reboot_interval,
        coverage_drop_interval=args.coverage_drop_interval,
        coverage_drop_duration=args.coverage_drop_duration,
        banner=args.banner,
    ) as sim:
        await _listen(sim, args, f"broker {sim.broker_url}", stop)


async def _serve_replay(args: argparse.Namespace, stop: asyncio.Event) -> None:
    from ..sim import ReplayModule

    async with ReplayModule(args.replay) as module:
        await _listen(module, args, f"replaying {args.replay}", stop)


async def _listen(
    module: VirtualModem | ReplayModule, args: argparse.Namespace, first: str, stop: asyncio.Event
) -> None:
    """Serve `module` on the pty or TCP port asked for, say so (`first`, then where), and
    run until stopped: the two lines scripts and tests read."""
    if args.pty:
        where = await module.serve_pty()
    else:
        host, port = await module.serve_tcp(*args.tcp)
        where = f"{host}:{port}"
    print(first, flush=True)
    print(f"listening on {where}", flush=True)
    await stop.wait()


# --- nm28 demo --------------------------------------------------------------------------


def _add_demo(subparsers: argparse._SubParsersAction[Subcommand]) -> Runner:
    p = subparsers.add_parser(
        "demo", help="six devices on a virtual NM28: telemetry up, CTWing-style commands down"
    )
    p.add_argument(
        "--broker", type=broker, metavar="URL",
        help=f"the broker of devices and platform, {FORM} (default: mosquitto if installed, "
        "started and restarted by the demo, else an embedded broker)",
    )  # fmt: skip
    p.add_argument(
        "--duration", type=positive_seconds, default=20.0, metavar="S",
        help="seconds to publish (default: %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--interval", type=positive_seconds, default=1.0, metavar="S",
        help="telemetry period per device (default: %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--faults", action=argparse.BooleanOptionalAction, default=True,
        help="restart the broker (when the demo runs mosquitto), reboot the module and drop a "
        "link, at 20%%, 50%% and 75%% of the run (default: on)",
    )  # fmt: skip
    p.add_argument(
        "-v", "--verbose", action="store_true",
        help="the driver's full timestamped wire trace on stderr too (default: off)",
    )  # fmt: skip
    return _run_demo


def _run_demo(args: argparse.Namespace) -> int:
    missing = _without_sim_extra("nm28 demo")
    if missing is not None:
        return missing
    from ..errors import Nm28Error
    from ..tasks import first_leaf
    from .demo import run_demo

    setup_logging(args.verbose, floor=logging.ERROR)  # it shows what warnings would say
    try:  # the demo's task groups wrap what fails inside them
        code = asyncio.run(
            run_demo(
                broker=args.broker,
                duration=args.duration,
                interval=args.interval,
                faults=args.faults,
            )
        )
    except* BrokenPipeError:
        raise  # for main(): its own exit code
    except* (Nm28Error, OSError) as failed:
        code = fail("nm28 demo", first_leaf(failed), EXIT_FAILED)
    return code


# --- nm28 at ----------------------------------------------------------------------------


def _add_at(subparsers: argparse._SubParsersAction[Subcommand]) -> Runner:
    p = subparsers.add_parser(
        "at", help="send AT commands to a module (or a virtual one) and print the answers; "
        "-i for an interactive console",
    )  # fmt: skip
    add_port(p)
    p.add_argument(
        "commands", nargs="*", type=text, default=[], metavar="COMMAND",
        help='AT command lines, sent in order, e.g. AT+CSQ "AT+MQTTCFG?" (or -i)',
    )  # fmt: skip
    p.add_argument(
        "-i", "--interactive", action="store_true",
        help="a console: send each line typed, show its answer, result lines after OK and "
        "URCs as they arrive; line editing and history; Ctrl-D ends it (default: off)",
    )  # fmt: skip
    p.add_argument(
        "--payload", action="append", type=text, default=[], metavar="TEXT",
        help="the payload (UTF-8) of the next AT+MQTTPUBEX, whose length field must match; "
        "once per AT+MQTTPUBEX (default: none)",
    )  # fmt: skip
    p.add_argument(
        "--timeout", type=positive_seconds, default=5.0, metavar="S",
        help="how long each command's final code (OK, ERROR) may take (default: %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--result-timeout", type=positive_seconds, metavar="S",
        help="how long an MQTT command's result line may take after OK (default: packet "
        "timeout x (retries + 1) + --timeout, 45 s with the module's defaults)",
    )  # fmt: skip
    p.add_argument(
        "--record", type=_record_file, metavar="FILE",
        help="write every byte each way to FILE, timed, secrets masked; nm28 sim --replay "
        "FILE plays the module's side back (default: off)",
    )  # fmt: skip
    p.add_argument(
        "-v", "--verbose", action="store_true", help="log the wire trace, secrets masked "
        "(default: off)",
    )  # fmt: skip
    return _run_at


def _run_at(args: argparse.Namespace) -> int:
    from . import at_script

    if args.interactive:
        if args.commands or args.payload:
            return fail("nm28 at", "-i reads its commands from the console", EXIT_USAGE)
        return console.run(args)
    if not args.commands:
        return fail("nm28 at", "give COMMAND lines, or -i for a console", EXIT_USAGE)
    try:
        prepared = at_script.prepare(args.commands, args.payload)
    except ValueError as exc:
        return fail("nm28 at", exc, EXIT_USAGE)
    setup_logging(args.verbose)
    with one_line_per_failure():
        return asyncio.run(_send_at(args, prepared))


async def _send_at(args: argparse.Namespace, prepared: list[Command]) -> int:
    from .. import Modem, Nm28Error
    from .at_script import answer

    try:
        async with Modem.open(
            args.port,
            baudrate=args.baudrate,
            command_timeout=args.timeout,
            result_timeout=args.result_timeout,
            record=args.record,
        ) as modem:
            for command in prepared:
                say(f"> {command.log_text}")
                for shown in answer(await modem.execute(command)):
                    say(shown)
    except Nm28Error as exc:
        return fail("nm28 at", exc, EXIT_FAILED)
    return EXIT_OK


# --- the command ------------------------------------------------------------------------


def _version() -> str:
    try:
        return metadata.version("nm28-async")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Runner]]:
    """The parser and, per subcommand, the function that runs it; add subcommands here."""
    parser = Parser(
        prog="nm28",
        description="Yuge NM28 MQTT AT tools: a virtual NM28, a demo, AT commands and an AT "
        "console, and mosquitto_sub/mosquitto_pub through the module.",
        epilog="exit codes: 0 done; 1 the module, network or broker failed; 2 invalid "
        "arguments (nothing sent); 27 nm28 sub -W timed out; 130 interrupted; 141 output "
        "closed (broken pipe)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Subcommand
    )
    runners = {
        "sim": _add_sim(subparsers),
        "demo": _add_demo(subparsers),
        "at": _add_at(subparsers),
        "sub": mqtt_tools.add_sub(subparsers),
        "pub": mqtt_tools.add_pub(subparsers),
        "bridge": bridge_cli.add_parser(subparsers),
    }
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    parser, runners = build_parser()
    args = parser.parse_args(argv)
    # except*: the demo's tasks raise from inside task groups, which wrap what they raise
    try:
        code = runners[args.command](args)
    except* KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except* BrokenPipeError:
        # nothing more can be written there, not even at exit: point stdout at /dev/null
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = fail(f"nm28 {args.command}", "output closed (broken pipe)", EXIT_BROKEN_PIPE)
    return code


if __name__ == "__main__":
    sys.exit(main())
