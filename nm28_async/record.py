"""Recording of a module session: every byte each way, with its time, secrets masked.

One JSON object a line: `{"t": <seconds since the recording began>, "dir": "tx" | "rx",
"data": "<the bytes, as latin-1 text>"}`. Latin-1 keeps every byte (JSON escapes the ones
that are not printable), so a field log of a firmware quirk can be read, and played back by
`nm28 sim --replay` as the module's side of the conversation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from .protocol.redact import MASK

Direction = Literal["tx", "rx"]


@dataclass(frozen=True, slots=True)
class Record:
    """What went one way at one moment: `tx` the host wrote, `rx` the module said."""

    t: float
    direction: Direction
    data: bytes


class Recorder:
    """Appends records to a file as they happen; secrets are masked before a byte is kept."""

    def __init__(self, path: str | Path) -> None:
        self._file: IO[str] = open(path, "w", encoding="utf-8")  # noqa: SIM115 (kept open)
        self._started = time.monotonic()
        self._secrets: set[bytes] = set()

    def mask(self, secrets: Iterable[str]) -> None:
        """Never write these (passwords the driver is about to send)."""
        self._secrets.update(secret.encode("utf-8") for secret in secrets if secret)

    def tx(self, data: bytes) -> None:
        self._write("tx", data)

    def rx(self, data: bytes) -> None:
        self._write("rx", data)

    def close(self) -> None:
        self._file.close()

    def _write(self, direction: Direction, data: bytes) -> None:
        for secret in self._secrets:
            data = data.replace(secret, MASK.encode())
        line = {
            "t": round(time.monotonic() - self._started, 6),
            "dir": direction,
            "data": data.decode("latin-1"),
        }
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()


def read(path: str | Path) -> Iterator[Record]:
    """The records of a recording, in order; ValueError for a line that is not one."""
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                fields = json.loads(line)
                direction = fields["dir"]
                if direction not in ("tx", "rx"):
                    raise ValueError(f"dir must be tx or rx, got {direction!r}")
                yield Record(float(fields["t"]), direction, fields["data"].encode("latin-1"))
            except (KeyError, TypeError, ValueError, UnicodeEncodeError) as exc:
                raise ValueError(f"{path}:{number}: not a record ({exc})") from None
