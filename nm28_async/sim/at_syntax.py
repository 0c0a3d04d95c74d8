"""The AT syntax as the module reads it: the host's command lines, parsed or rejected.

The virtual NM28 must judge what a host typed the way a module does: a line either
parses into a command with typed arguments or is answered with ``ERROR``. Nothing in
here raises anything but :class:`LineRejected`, so a hostile line can never crash the
simulator.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Container
from dataclasses import dataclass

Arg = int | str | None
"""An argument: ``int`` for a number, ``str`` for a quoted string, ``None`` when omitted."""

_INT = re.compile(r"-?\d{1,10}")
_BASIC = re.compile(r"([A-Z&])(\d?)")
_EXTENDED_NAME = re.compile(r"\+[A-Z][A-Z0-9]*")


class LineRejected(Exception):
    """The line or one of its arguments is not acceptable: the module answers ``ERROR``."""


class AtForm(enum.Enum):
    """The four forms of an AT command; the value is what follows the name."""

    EXEC = ""  # AT+X  (or a basic command such as ATE0)
    SET = "="  # AT+X=<args>
    READ = "?"  # AT+X?
    TEST = "=?"  # AT+X=?


@dataclass(frozen=True, slots=True)
class AtLine:
    """A parsed command line.

    ``name`` is upper-case: ``""`` for a bare ``AT``, ``"+MQTTOPEN"`` for an extended
    command, ``"E"``/``"I"`` for a basic one (whose digit is the single argument).
    """

    name: str
    form: AtForm
    args: tuple[Arg, ...] = ()

    @property
    def head(self) -> str:
        """The command without its arguments: ``AT+MQTTPUBEX=``, ``AT+MQTTCONN?``, ``ATE``."""
        return f"AT{self.name}{self.form.value}"

    def count(self, low: int, high: int) -> None:
        """Refuse an argument list shorter than ``low`` or longer than ``high``."""
        if not low <= len(self.args) <= high:
            raise LineRejected(f"{self.name} takes {low}..{high} arguments")

    def int_at(self, i: int, valid: Container[int]) -> int:
        """Argument ``i`` as a number inside ``valid``."""
        value = self.args[i] if i < len(self.args) else None
        if not isinstance(value, int) or value not in valid:
            raise LineRejected(f"argument {i} of {self.name} out of range")
        return value

    def opt_int_at(self, i: int, valid: Container[int], default: int) -> int:
        """Argument ``i`` if given (and then inside ``valid``), else ``default``."""
        if i >= len(self.args) or self.args[i] is None:
            return default
        return self.int_at(i, valid)

    def str_at(self, i: int, *, max_bytes: int = 65535, allow_empty: bool = True) -> str:
        """Argument ``i`` as a quoted string of at most ``max_bytes`` UTF-8 bytes."""
        value = self.args[i] if i < len(self.args) else None
        if not isinstance(value, str):
            raise LineRejected(f"argument {i} of {self.name} must be a quoted string")
        if len(value.encode()) > max_bytes or (not allow_empty and not value):
            raise LineRejected(f"argument {i} of {self.name} has a bad length")
        return value


def parse_line(line: bytes) -> AtLine:
    """Parse one command line (without its terminator)."""
    try:
        text = line.decode()
    except UnicodeDecodeError as exc:
        raise LineRejected("not UTF-8") from exc
    if any(ord(c) < 0x20 for c in text):
        raise LineRejected("control character in command line")
    text = text.strip(" ")
    if text[:2].upper() != "AT":
        raise LineRejected("no AT prefix")
    rest = text[2:]
    if not rest:
        return AtLine("", AtForm.EXEC)
    if not rest.startswith("+"):
        match = _BASIC.fullmatch(rest.upper())
        if match is None:
            raise LineRejected("unknown basic command")
        digit = match.group(2)
        return AtLine(match.group(1), AtForm.EXEC, (int(digit),) if digit else ())
    name_match = _EXTENDED_NAME.match(rest.upper())
    if name_match is None:
        raise LineRejected("bad command name")
    name = name_match.group(0)
    tail = rest[len(name) :]
    if tail == "":
        return AtLine(name, AtForm.EXEC)
    if tail == "?":
        return AtLine(name, AtForm.READ)
    if tail == "=?":
        return AtLine(name, AtForm.TEST)
    if tail.startswith("="):
        return AtLine(name, AtForm.SET, split_args(tail[1:]))
    raise LineRejected("bad command form")


def split_args(text: str) -> tuple[Arg, ...]:
    """Split ``1,"a,b",,-1`` into ``(1, "a,b", None, -1)``; quotes cannot be escaped."""
    args: list[Arg] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] == " ":
            i += 1
        value: Arg
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise LineRejected("unterminated string")
            value = text[i + 1 : end]
            i = end + 1
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            raw = text[i:end].strip(" ")
            if raw == "":
                value = None
            elif _INT.fullmatch(raw):
                value = int(raw)
            else:
                raise LineRejected(f"bad argument {raw!r}")
            i = end
        while i < n and text[i] == " ":
            i += 1
        args.append(value)
        if i == n:
            return tuple(args)
        if text[i] != ",":
            raise LineRejected("junk after argument")
        i += 1
