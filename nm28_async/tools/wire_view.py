"""The driver's wire log as a person reads it.

The engine logs every write and read on `nm28_async.wire` at DEBUG, secrets already masked:
`TX AT+CSQ`, `TX <payload 12 bytes>`, `RX \\r\\n+CSQ: 24,99\\r\\n\\r\\nOK\\r\\n`. Shown as they
are, those are escapes and chunks; here they become one arrowed line per module line (the
timestamped trace of `-v`), or one line per command with its answer (the demo's compact view).
"""

from __future__ import annotations

import logging
import re
import time

SENT = "→"
"""Host to module."""
RECEIVED = "←"
"""Module to host."""
WIRE_LOGGER = "nm28_async.wire"

_LINE_ENDS = re.compile(r"(?:\\r|\\n)+")
_FINALS = re.compile(r"OK|ERROR|\+CM[ES] ERROR\b.*")
_PAYLOAD = re.compile(r"<payload (\d+) bytes>")


def wire_lines(message: str) -> tuple[str, list[str]] | None:
    """A wire log message as its direction and the lines it holds; None if it is none."""
    direction, _, text = message.partition(" ")
    if direction == "TX":
        return SENT, [text]
    if direction == "RX":
        return RECEIVED, [line for line in _LINE_ENDS.split(text) if line.strip()]
    return None


class TraceFormatter(logging.Formatter):
    """`12:03:04.512 → AT+CSQ`, then `12:03:04.520 ← +CSQ: 24,99` and `... ← OK`: one line per
    line on the wire; any other record as `12:03:04.530 · text`."""

    def format(self, record: logging.LogRecord) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(record.created))
        stamp = f"{clock}.{int(record.msecs):03d}"
        message = record.getMessage()
        wire = wire_lines(message) if record.name == WIRE_LOGGER else None
        if wire is None:
            level = f"{record.levelname.lower()}: " if record.levelno >= logging.WARNING else ""
            cause = f" ({record.exc_info[1]})" if record.exc_info and record.exc_info[1] else ""
            return f"{stamp} · {level}{message}{cause}"
        arrow, lines = wire
        return "\n".join(f"{stamp} {arrow} {line}" for line in lines or ["(line end)"])


class Exchanges:
    """Folds the wire log into one line per command and the answer that ends it:
    `AT+MQTTPUBEX=0,3,1,0,0,"t",2 · CONNECT · 2 bytes · +MQTTPUBEX: 0,3,0 · OK`.

    A module line joins the command on the wire if it is its prompt, its information or result
    line (`+NAME:` of `AT+NAME`), a text line, or its final code; its echo is left out; anything
    else (`+MQTTRECV`, a result that comes after `OK`, a URC) stands alone.
    """

    def __init__(self) -> None:
        self._open: list[str] = []
        self._name = ""

    def feed(self, message: str) -> list[tuple[str, str]]:
        """What is ready to show after this wire message, as (arrow, text) pairs."""
        wire = wire_lines(message)
        if wire is None:
            return []
        arrow, lines = wire
        if arrow == SENT:
            return self._sent(lines[0])
        shown: list[tuple[str, str]] = []
        for line in lines:
            if self._open and line == self._open[0]:
                continue  # the module's echo of the command
            if self._open and self._joins(line):
                self._open.append(line)
                if _FINALS.fullmatch(line):
                    shown += self.flush()
            else:
                shown.append((RECEIVED, line))
        return shown

    def flush(self) -> list[tuple[str, str]]:
        """The command still on the wire, as far as it went."""
        shown = [(SENT, " · ".join(self._open))] if self._open else []
        self._open, self._name = [], ""
        return shown

    def _sent(self, text: str) -> list[tuple[str, str]]:
        payload = _PAYLOAD.fullmatch(text)
        if payload is not None and self._open:
            self._open.append(f"{payload.group(1)} bytes")
            return []
        shown = self.flush()
        self._open = [text]
        head = text.partition("=")[0].partition("?")[0].upper()
        self._name = head[2:] if head.startswith("AT+") else ""  # "+CSQ"
        return shown

    def _joins(self, line: str) -> bool:
        if _FINALS.fullmatch(line) or not line.startswith("+"):
            return True
        return bool(self._name) and line.upper().startswith(f"{self._name}:")
