"""The recorder: every byte each way, timed, secrets masked, appended to a file as it happens
(the format is `protocol.recording`'s)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from .protocol.recording import Direction, Record, encode_record
from .protocol.redact import MASK


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
        self._file.write(encode_record(Record(time.monotonic() - self._started, direction, data)))
        self._file.flush()
