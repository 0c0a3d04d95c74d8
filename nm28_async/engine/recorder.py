"""The recorder: every byte each way, timed, appended to a file as it happens (the format is
`protocol.recording`'s). The wire tap masks secrets before a byte reaches it."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import IO

from ..errors import Nm28Error
from ..protocol.recording import Direction, Record, encode_record

log = logging.getLogger("nm28_async")


class Recorder:
    """Appends records to a file as they happen. A disk that fails stops the recording (one
    log line), never the driver."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._file: IO[str] | None = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise Nm28Error(f"cannot record to {self.path}: {exc.strerror or exc}") from exc
        self._started = time.monotonic()

    def tx(self, data: bytes) -> None:
        self._write("tx", data)

    def rx(self, data: bytes) -> None:
        self._write("rx", data)

    def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except OSError as exc:
                log.error("recording to %s incomplete: %s", self.path, exc.strerror or exc)

    def _write(self, direction: Direction, data: bytes) -> None:
        if self._file is None:
            return
        record = Record(time.monotonic() - self._started, direction, data)
        try:
            self._file.write(encode_record(record))
            self._file.flush()
        except OSError as exc:
            log.error("recording to %s stopped: %s", self.path, exc.strerror or exc)
            file, self._file = self._file, None
            with contextlib.suppress(OSError):  # the same failure, already said
                file.close()
