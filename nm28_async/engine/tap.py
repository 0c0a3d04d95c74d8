"""The wire tap: what the driver writes and reads, masked, for the recorder and the trace.

Every password the driver sends is masked on the stream each way (across reads), so neither
the `record` file nor the DEBUG wire trace can hold one, however the module splits its echo.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from ..protocol.redact import StreamMask, redact_bytes, redact_wire
from .recorder import Recorder

wire = logging.getLogger("nm28_async.wire")


class WireTap:
    def __init__(self, recorder: Recorder | None) -> None:
        self._recorder = recorder
        self._secrets: set[str] = set()
        self._rx_mask = StreamMask()
        self._tx_mask = StreamMask()

    def mask(self, secrets: Iterable[str]) -> None:
        """Never show these (passwords the driver is about to send)."""
        secrets = [secret for secret in secrets if secret]
        self._secrets.update(secrets)
        self._rx_mask.add(secrets)
        self._tx_mask.add(secrets)

    @property
    def tapping(self) -> bool:
        """Whether anything listens (the hot path skips the tap otherwise)."""
        return self._recorder is not None or wire.isEnabledFor(logging.DEBUG)

    def rx(self, data: bytes) -> None:
        shown = self._rx_mask.feed(data)
        if self._recorder is not None and shown:
            self._recorder.rx(shown)
        if shown and wire.isEnabledFor(logging.DEBUG):
            wire.debug("RX %s", redact_wire(shown, self._secrets))

    def tx(self, data: bytes) -> None:
        """Recorded only: the conversation traces each command as it sends it, masked."""
        if self._recorder is not None:
            shown = self._tx_mask.feed(data)
            if shown:
                self._recorder.tx(shown)

    def noise(self, data: bytes) -> str:
        """Bytes that failed to parse, fit for a log line."""
        return redact_bytes(data, self._secrets)

    def close(self) -> None:
        """Record what was held back in doubt, and close the recording."""
        recorder = self._recorder
        if recorder is not None:
            for held, write in (
                (self._rx_mask.flush(), recorder.rx),
                (self._tx_mask.flush(), recorder.tx),
            ):
                if held:
                    write(held)
            recorder.close()
