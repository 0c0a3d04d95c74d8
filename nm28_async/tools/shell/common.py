"""What every `nm28` subcommand shares: exit codes, the one-line usage error, option types
that say in words what they wanted, one-line failures and the log set-up.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import math
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from ...protocol import limits
from ...protocol.broker_url import BrokerUrl
from ..wire_view import TraceFormatter

Runner = Callable[[argparse.Namespace], int]
"""What runs one subcommand: its parsed arguments in, the process exit code out."""

EXIT_OK = 0
EXIT_FAILED = 1
"""The module, the network or the broker failed (ERROR, no answer, unreachable, lost messages)."""
EXIT_USAGE = 2
"""Invalid arguments or command lines: nothing was sent."""
EXIT_TIMED_OUT = 27
"""`nm28 sub -W`: the time ran out before `-C` messages came (mosquitto_sub's code)."""
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
"""stdout was closed by its reader (`nm28 at ... | head`), as a shell reports SIGPIPE."""

_HOST_NAME = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?")


class Parser(argparse.ArgumentParser):
    """Usage errors in one line: what is wrong and where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


class Subcommand(Parser):
    """A subcommand's parser: its options go anywhere among its positionals
    (`nm28 at PORT --record FILE AT+CSQ`, commands after `--payload TEXT`), as argparse's
    intermixed parsing reads them. The top-level parser hands each subcommand its arguments
    through `parse_known_args`, so that is where the intermixed parsing is switched on."""

    _inside = False
    """Set while the intermixed parsing runs: it calls `parse_known_args` for its two passes."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        if self._inside:
            return super().parse_known_args(args, namespace)
        self._inside = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inside = False


# --- option types: each says in words what it wanted ------------------------------------


def host(text: str) -> str:
    """An IP address (IPv6 in brackets or bare) or a host name."""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
        _check_ip(text, ipaddress.IPv6Address, "IPv6")
    elif ":" in text:
        _check_ip(text, ipaddress.IPv6Address, "IPv6")
    elif re.fullmatch(r"[\d.]+", text):
        _check_ip(text, ipaddress.IPv4Address, "IPv4")
    elif not _HOST_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is neither an IP address nor a host name")
    return text


def tcp_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` to listen on (port 0: any free one; no host: loopback)."""
    where, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (port 0..65535), got {text!r}")
    return (host(where) if where else "127.0.0.1"), int(port)


def _check_ip(text: str, kind: Callable[[str], object], name: str) -> None:
    try:
        kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not an {name} address") from None


def utf8(hint: str = "") -> Callable[[str], str]:
    """Text that is UTF-8: argv's bytes that are not arrive as lone surrogates (Python's
    surrogateescape), refused with the byte and where it is (never the text: it may be a
    password), then `hint`."""

    def parse(text: str) -> str:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = ord(text[exc.start]) & 0xFF
            more = f"; {hint}" if hint else ""
            raise argparse.ArgumentTypeError(
                f"not UTF-8 (byte 0x{byte:02x} at position {exc.start}){more}"
            ) from None
        return text

    return parse


text = utf8()
"""A command-line string that must be UTF-8: a topic, client id, login, AT command line."""


def seconds(*, zero: bool) -> Callable[[str], float]:
    wanted = "a number of seconds, 0 or more" if zero else "a number of seconds above 0"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    return parse


positive_seconds = seconds(zero=False)
seconds_or_zero = seconds(zero=True)


def whole(name: str, valid: range) -> Callable[[str], int]:
    """A whole number in `valid`, e.g. a QoS, a client index or a message count."""
    last = valid.stop - 1
    wanted = f"{name} {valid.start}..{last}" if last < 1 << 16 else f"{name}, {valid.start} or more"

    def parse(text: str) -> int:
        if not text.isdigit() or int(text) not in valid:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return int(text)

    return parse


network_port = whole("a port", limits.PORTS)
"""A broker's TCP port."""


def baudrate(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a baud rate (a whole number), got {text!r}")
    return int(text)


def broker(text: str) -> BrokerUrl:
    try:
        return BrokerUrl.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_port(p: argparse.ArgumentParser) -> None:
    """The module's port and its speed, as every subcommand that opens one takes them."""
    p.add_argument("port", help="the module's device path or pyserial URL (socket://HOST:PORT)")
    p.add_argument(
        "--baudrate", type=baudrate, default=115200, metavar="N",
        help="serial line speed (default: %(default)s)",
    )  # fmt: skip


# --- output -------------------------------------------------------------------------------


def say(text: str) -> None:
    """One line of output, flushed: answers show as they come."""
    print(text, flush=True)


def fail(who: str, error: BaseException | str, code: int) -> int:
    if _holding is not None:
        _holding.said(str(error))
    print(f"{who}: {error}", file=sys.stderr)
    return code


class _HeldErrors(logging.Filter):
    """Holds back the driver's ERROR records that carry just an error (`log.error("%s",
    error)`: the engine saying why its port ended), the error's text with each."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[tuple[str, logging.LogRecord]] = []

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            record.levelno >= logging.ERROR
            and isinstance(args, tuple)
            and len(args) == 1
            and isinstance(args[0], BaseException)
        ):
            self.held.append((str(args[0]), record))
            return False
        return True

    def said(self, text: str) -> None:
        """A failure line said `text`: the record of the same error is not written."""
        self.held = [(error, record) for error, record in self.held if error != text]


_holding: _HeldErrors | None = None


@contextmanager
def one_line_per_failure() -> Iterator[None]:
    """The driver logs the error that ends its port (`socket://... lost: ...`) when it
    happens, and the command's failure line (`fail`) says the same error: within this block
    (after `setup_logging`), such a record is held back, dropped once a failure line said its
    error, and written when the block ends if none did."""
    global _holding
    holder = _HeldErrors()
    handlers = list(logging.getLogger("nm28_async").handlers)
    for handler in handlers:
        handler.addFilter(holder)
    _holding = holder
    try:
        yield
    finally:
        _holding = None
        for handler in handlers:
            handler.removeFilter(holder)
        for _, record in holder.held:
            for handler in handlers:
                handler.handle(record)


def setup_logging(
    trace: bool, show: Callable[[str], None] | None = None, floor: int = logging.WARNING
) -> None:
    """The driver's warnings (or what is above `floor`), timestamped, on stderr (or to `show`,
    line by line); with `trace`, its wire trace and INFO lines too (secrets are masked where
    the driver logs)."""
    level = logging.DEBUG if trace else floor
    driver = logging.getLogger("nm28_async")
    if not driver.handlers:
        handler = logging.StreamHandler(sys.stderr) if show is None else _Lines(show)
        handler.setFormatter(TraceFormatter())
        handler.setLevel(level)  # a part of the driver may log more for its own view (demo)
        driver.addHandler(handler)
    driver.setLevel(level)


class _Lines(logging.Handler):
    """Hands each formatted record to a function (the console draws it above its prompt)."""

    def __init__(self, show: Callable[[str], None]) -> None:
        super().__init__()
        self._show = show

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._show(self.format(record))
        except Exception:
            self.handleError(record)
