"""Play back the module's side of a recorded session (`Modem.open(record=...)`).

The recording becomes a script: the host's bytes cut into units (a command line ends at CR,
a payload at its Ctrl-Z), and after each unit what the module said, with its delays. Played
back, each unit the host writes that matches the next one recorded brings the module's
recorded answer, at its recorded times; what the module said before the first unit (a
banner) comes at the start. A masked secret (`***`) matches whatever the host sends there.
So a field log of a firmware quirk becomes a regression test: the same commands get the
same answers.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..protocol.recording import Record, decode_record
from ..protocol.redact import MASK
from .lifecycle import StartStop
from .serve import Endpoints
from .wire import HostOutput


def read_recording(path: str | Path) -> list[Record]:
    """The records of a recording, in order; ValueError naming the file and line of the first
    that is not one (a file that is not UTF-8 included); OSError if it cannot be read."""
    records = []
    with open(path, "rb") as file:
        for number, raw in enumerate(file, 1):
            try:
                line = raw.decode("utf-8")
                if line.strip():
                    records.append(decode_record(line))
            except ValueError as exc:  # UnicodeDecodeError included
                reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc)
                raise ValueError(f"{path}:{number}: not a record ({reason})") from None
    return records


_UNIT_END = re.compile(rb"[\r\x1a]")
_UNKNOWN = b"\r\nERROR\r\n"
"""What the replay says to a unit the recording does not have next."""


@dataclass
class _Step:
    expected: re.Pattern[bytes]
    shown: bytes
    answer: list[tuple[float, bytes]] = field(default_factory=list)


class ReplayScript:
    """The recording as steps; `host_wrote` says what the module answers, and when."""

    def __init__(self, records: Iterable[Record]) -> None:
        self.opening: list[tuple[float, bytes]] = []
        """What the module said before the host's first unit, with its times."""
        self._steps: list[_Step] = []
        self._next = 0
        self._host = b""
        self._build(records)

    @property
    def done(self) -> bool:
        """Every recorded unit of the host has been played."""
        return self._next == len(self._steps)

    def host_wrote(self, data: bytes) -> list[tuple[float, bytes]]:
        """Bytes from the host; what the module says to the units they complete, with delays
        from now."""
        self._host += data
        replies: list[tuple[float, bytes]] = []
        for unit in self._take_units():
            if not unit.strip(b"\r\n\x1a "):
                continue
            step = self._steps[self._next] if self._next < len(self._steps) else None
            if step is not None and step.expected.fullmatch(unit.strip(b"\n")):
                self._next += 1
                replies += step.answer
            else:
                replies.append((0.0, _UNKNOWN))
        return replies

    def _take_units(self) -> list[bytes]:
        units = []
        while (end := _UNIT_END.search(self._host)) is not None:
            units.append(self._host[: end.end()])
            self._host = self._host[end.end() :]
        return units

    def _build(self, records: Iterable[Record]) -> None:
        pending = b""
        last_unit_at = 0.0
        for record in records:
            if record.direction == "rx":
                delay = record.t - last_unit_at
                target = self._steps[-1].answer if self._steps else self.opening
                target.append((max(0.0, delay), record.data))
                continue
            pending += record.data
            while (end := _UNIT_END.search(pending)) is not None:
                unit, pending = pending[: end.end()], pending[end.end() :]
                if unit.strip(b"\r\n\x1a "):
                    self._steps.append(_Step(_pattern(unit.strip(b"\n")), unit))
                    last_unit_at = record.t


def _pattern(unit: bytes) -> re.Pattern[bytes]:
    """The unit as a pattern in which a masked secret matches any run without a quote."""
    parts = [re.escape(part) for part in unit.split(MASK.encode())]
    return re.compile(b'[^"\\r]*'.join(parts), re.DOTALL)


class ReplayModule(StartStop):
    """A module that answers as a recording says, on a pty or a TCP port, like `VirtualModem`
    (`nm28 sim --replay FILE`)."""

    def __init__(self, recording: str | Path) -> None:
        self._script = ReplayScript(read_recording(recording))
        self._output = HostOutput(None)
        self._endpoints = Endpoints(self._host_wrote, self._output)
        self._timers: set[asyncio.TimerHandle] = set()

    @property
    def done(self) -> bool:
        """The host sent every unit the recording has."""
        return self._script.done

    async def start(self) -> None:
        """Nothing runs until a host attaches: the recording's opening is said to it."""

    async def serve_pty(self) -> str:
        path = self._endpoints.open_pty()
        self._say(self._script.opening)
        return path

    async def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        return await self._endpoints.open_tcp(host, port, lambda: self._say(self._script.opening))

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self._endpoints.close()
        await self._endpoints.wait_closed()

    def _host_wrote(self, data: bytes) -> None:
        self._say(self._script.host_wrote(data))

    def _say(self, replies: list[tuple[float, bytes]]) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._timers = {timer for timer in self._timers if timer.when() > now}
        for delay, data in replies:
            self._timers.add(loop.call_later(delay, self._output.write, data))
