"""What the demo prints: one format for every line, `  4.21  dev0     ↑ {"seq": 5, ...}`
(seconds since the start, who, an arrow, what), coloured on a terminal, where a status line
at the bottom also shows the six clients' state; plain lines anywhere else (a pipe, a file).

The AT exchange comes from the driver's own wire log, one line per command with its answer.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from ..wire_view import WIRE_LOGGER, Exchanges


class Kind(enum.Enum):
    """What a line is about; on a terminal, its colour."""

    NOTE = ""
    WIRE = "\x1b[2m"  # dim: there is a lot of it
    UP = "\x1b[32m"
    DOWN = "\x1b[36m"
    STATE = "\x1b[33m"
    FAULT = "\x1b[1;31m"
    GOOD = "\x1b[1;32m"


_RESET = "\x1b[0m"
_CLEAR_LINE = "\r\x1b[K"


class View:
    """Lines as they happen, flushed; on a terminal, `status()` is redrawn under them."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._terminal = out.isatty()
        self._colour = self._terminal and "NO_COLOR" not in os.environ
        self._t0 = time.monotonic()
        self.status: Callable[[], str] = str
        """What the line under the others shows (set once the sessions run)."""

    def line(self, who: str, arrow: str, text: str, kind: Kind = Kind.NOTE) -> None:
        shown = f"{time.monotonic() - self._t0:6.2f}  {who:<8} {arrow} {text}"
        if self._terminal:
            width = shutil.get_terminal_size().columns
            if len(shown) > width:
                shown = shown[: width - 1] + "…"
        if self._colour and kind.value:
            shown = f"{kind.value}{shown}{_RESET}"
        self._write(shown)

    def note(self, text: str) -> None:
        self.line("demo", "·", text)

    def plain(self, text: str) -> None:
        """A line without time or colour (the summary table)."""
        self._write(text)

    def close(self) -> None:
        """Take the status line away, for good."""
        self.status = str
        if self._terminal:
            self._out.write(_CLEAR_LINE)
            self._out.flush()

    def _write(self, text: str) -> None:
        if not self._terminal:
            self._out.write(f"{text}\n")
        else:
            status = self.status()[: shutil.get_terminal_size().columns - 1]
            self._out.write(f"{_CLEAR_LINE}{text}\n{status}")
        self._out.flush()

    @contextlib.contextmanager
    def wire(self) -> Iterator[None]:
        """Show the driver's AT exchange while inside: one line per command and its answer."""
        logger = logging.getLogger(WIRE_LOGGER)
        handler = _WireLines(self)
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
            for arrow, text in handler.exchanges.flush():
                self.line("AT", arrow, text, Kind.WIRE)


class _WireLines(logging.Handler):
    def __init__(self, view: View) -> None:
        super().__init__(logging.DEBUG)
        self._view = view
        self.exchanges = Exchanges()

    def emit(self, record: logging.LogRecord) -> None:
        for arrow, text in self.exchanges.feed(record.getMessage()):
            self._view.line("AT", arrow, text, Kind.WIRE)
