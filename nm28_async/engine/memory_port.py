"""An in-memory line: the engine on one end, a test (or an embedded module) on the other.

What the engine writes is kept and announced; what the other end sends reaches the engine
on the next loop turn, as a read would. Engine tests then wait on what was written, not on
sleeps, and run without a pty.
"""

from __future__ import annotations

import asyncio

from .port import DataCallback, LostCallback, Port


class MemoryLine:
    """Both ends of one line. `open` is a `PortOpener` for `Engine.open(..., opener=)`."""

    def __init__(self) -> None:
        self.written = bytearray()
        """Every byte the engine wrote, in order."""
        self._port: _MemoryPort | None = None
        self._changed = asyncio.Event()

    async def open(
        self, url: str, baudrate: int, on_data: DataCallback, on_lost: LostCallback
    ) -> Port:
        if self._port is not None and self._port.open:
            raise OSError(f"{url} is already open")
        self._port = _MemoryPort(self, on_data, on_lost)
        return self._port

    def send(self, data: bytes) -> None:
        """Bytes from the module's side; they reach the engine on the next loop turn."""
        port = self._require_port()
        asyncio.get_running_loop().call_soon(port.deliver, bytes(data))

    def drop(self, error: Exception | None = None) -> None:
        """The line goes away (a USB module unplugged: `error`; the end of a stream: None)."""
        self._require_port().lose(error)

    async def wait_written(self, data: bytes, start: int = 0) -> int:
        """Wait until the engine has written `data` at or after offset `start`; returns the
        offset just after it."""
        while (at := self.written.find(data, start)) < 0:
            self._changed.clear()
            await self._changed.wait()
        return at + len(data)

    def _wrote(self, data: bytes) -> None:
        self.written += data
        self._changed.set()

    def _require_port(self) -> _MemoryPort:
        if self._port is None or not self._port.open:
            raise RuntimeError("the line is not open")
        return self._port


class _MemoryPort:
    def __init__(self, line: MemoryLine, on_data: DataCallback, on_lost: LostCallback) -> None:
        self._line = line
        self._on_data = on_data
        self._on_lost = on_lost
        self.open = True

    def deliver(self, data: bytes) -> None:
        if self.open:
            self._on_data(data)

    def lose(self, error: Exception | None) -> None:
        if self.open:
            self.open = False
            self._on_lost(error)

    def write(self, data: bytes) -> None:
        if not self.open:
            raise ConnectionResetError("the port is closed")
        self._line._wrote(data)

    def rest(self, seconds: float) -> None:
        """Bytes in memory cost no wake-up: nothing to gather."""

    def wake(self) -> None:
        """Never rests."""

    def close(self) -> None:
        self.open = False

    async def wait_closed(self) -> None:
        """Closing is immediate."""
