"""nm28: the virtual NM28 (`sim`), the demo (`demo`), and AT commands to a module (`at`).

Each subcommand registers its own parser and the function that runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence

Runner = Callable[[argparse.Namespace], int]


def _tcp_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _not_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("cannot be negative")
    return value


def _add_sim(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> Runner:
    p = subparsers.add_parser("sim", help="run the virtual NM28 on a pty or a TCP port")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    where.add_argument("--tcp", type=_tcp_address, metavar="HOST:PORT", help="serve on TCP")
    p.add_argument("--broker", metavar="URL", help="mqtt://HOST:PORT (default: embedded broker)")
    p.add_argument("--result-after-ok", action="store_true", help="print OK before result lines")
    p.add_argument(
        "--network-latency", type=_not_negative, default=0.0, metavar="S",
        help="extra seconds of every network-bound command; with the result before OK, OK "
        "waits too (default: 0)",
    )  # fmt: skip
    p.add_argument(
        "--command-latency", type=_not_negative, default=0.0, metavar="S",
        help="seconds before any command is acted on (default: 0)",
    )  # fmt: skip
    p.add_argument(
        "--prompt-latency", type=_not_negative, default=0.0, metavar="S",
        help="seconds before the prompt of AT+MQTTPUBEX (default: 0)",
    )  # fmt: skip
    p.add_argument("--baudrate", type=int, metavar="N", help="pace output like an 8N1 UART")
    p.add_argument("--no-echo", action="store_true", help="power on with echo off (ATE0)")
    p.add_argument(
        "--spaced-results", action="store_true",
        help="print '+MQTTOPEN: 0,0' instead of the manual's '+MQTTOPEN:0,0'",
    )  # fmt: skip
    p.add_argument(
        "--quoted-recv", action="store_true",
        help='quote topic and payload in +MQTTRECV: 0,3,"a/b",5,"hello"',
    )  # fmt: skip
    p.add_argument(
        "--prompt", choices=("CONNECT", ">"), default="CONNECT",
        help="what precedes a PUBEX payload (default: CONNECT, as in the manual)",
    )  # fmt: skip
    p.add_argument(
        "--link-lost-urc", action="store_true",
        help="print +MQTTSTAT: <idx>,<code> when a broker link drops (1 closed, 2 keep-alive)",
    )  # fmt: skip
    p.add_argument("--noise-interval", type=_positive, metavar="S", help="inject noise/URCs")
    p.add_argument(
        "--drop-interval", type=_positive, metavar="S", help="cut a broker link every S s"
    )
    p.add_argument("--reboot-interval", type=_positive, metavar="S", help="reboot every S s")
    p.add_argument("--banner", default="RDY", help="line printed after a reboot")
    p.add_argument("-v", "--verbose", action="store_true")
    return _run_sim


def _run_sim(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    try:
        asyncio.run(_serve_sim(args))
    except ValueError as exc:
        print(f"nm28 sim: {exc}", file=sys.stderr)
        return 2
    return 0


async def _serve_sim(args: argparse.Namespace) -> None:
    from .sim import VirtualModem  # the sim's extra dependencies only when it runs

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with VirtualModem(
        args.broker,
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
        banner=args.banner,
    ) as sim:
        if args.pty:
            where = await sim.serve_pty()
        else:
            host, port = await sim.serve_tcp(*args.tcp)
            where = f"{host}:{port}"
        print(f"broker {sim.broker_url}", flush=True)
        print(f"listening on {where}", flush=True)
        await stop.wait()


def _add_demo(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> Runner:
    p = subparsers.add_parser(
        "demo", help="six devices on a virtual NM28: telemetry up, CTWing-style commands down"
    )
    p.add_argument("--broker", metavar="URL", help="mqtt://HOST:PORT (default: embedded broker)")
    p.add_argument("--duration", type=_positive, default=8.0, metavar="S", help="seconds to run")
    p.add_argument(
        "--interval", type=_positive, default=0.5, metavar="S", help="telemetry period per device"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log the driver's wire trace")
    return _run_demo


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    return asyncio.run(
        run_demo(broker=args.broker, duration=args.duration, interval=args.interval)
    )


def _add_at(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> Runner:
    p = subparsers.add_parser(
        "at", help="send AT commands to a module (or a virtual one) and print the answers"
    )
    p.add_argument("port", help="device path or pyserial URL (socket://HOST:PORT)")
    p.add_argument("commands", nargs="+", metavar="COMMAND", help='e.g. AT+CSQ "AT+MQTTCFG?"')
    p.add_argument("--baudrate", type=int, default=115200)
    p.add_argument("--timeout", type=_positive, default=5.0, metavar="S", help="per command")
    p.add_argument("-v", "--verbose", action="store_true", help="log the wire trace")
    return _run_at


def _run_at(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    return asyncio.run(_send_at(args))


async def _send_at(args: argparse.Namespace) -> int:
    from . import Modem, Nm28Error

    try:
        async with Modem.open(
            args.port, baudrate=args.baudrate, command_timeout=args.timeout
        ) as modem:
            for command in args.commands:
                print(f"> {command}")
                for line in await modem.command(command):
                    print(line)
                print("OK")
    except ValueError as exc:
        print(f"nm28 at: {exc}", file=sys.stderr)
        return 2
    except Nm28Error as exc:
        print(f"nm28 at: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Runner]]:
    """The parser and, per subcommand, the function that runs it; add subcommands here."""
    parser = argparse.ArgumentParser(
        prog="nm28",
        description="Yuge NM28 MQTT AT tools: a virtual NM28, a demo, and AT commands.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    runners = {
        "sim": _add_sim(subparsers),
        "demo": _add_demo(subparsers),
        "at": _add_at(subparsers),
    }
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    parser, runners = build_parser()
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        return runners[args.command](args)
    return 130


if __name__ == "__main__":
    sys.exit(main())
