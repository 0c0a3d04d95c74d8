"""The module's side of the serial line: buffered input, paced and fanned-out output."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

Sink = Callable[[bytes], None]

_TERMINATORS = (b"\r", b"\n")


class HostInput:
    """Bytes typed by the host, read either as command lines or as a counted payload.

    One reader (the command processor) consumes it; endpoints only ``feed``.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._more = asyncio.Event()
        self._host_gone = False

    def feed(self, data: bytes) -> None:
        self._buf += data
        self._more.set()

    def clear(self) -> None:
        self._buf.clear()

    def pending(self) -> bytes:
        """What has arrived and not been read yet (without consuming it)."""
        return bytes(self._buf)

    def host_gone(self) -> None:
        """The port was pulled: a payload being read will not come (a USB CDC port drops
        out of data mode with DTR)."""
        self._host_gone = True
        self._more.set()

    def discard(self, n: int) -> None:
        del self._buf[:n]

    async def _wait(self) -> None:
        self._more.clear()
        await self._more.wait()

    async def read_line(self, max_len: int) -> bytes | None:
        """The next line ended by CR or LF, without its terminator.

        A line longer than ``max_len`` is discarded up to its terminator and reported
        as ``None``, so a flood of bytes without CR cannot grow the buffer forever.
        """
        scanned = 0
        overlong = False
        while True:
            ends = [i for i in (self._buf.find(t, scanned) for t in _TERMINATORS) if i >= 0]
            if ends:
                end = min(ends)
                line = bytes(self._buf[:end])
                del self._buf[: end + 1]
                return None if overlong or len(line) > max_len else line
            if len(self._buf) > max_len:
                overlong = True
                self._buf.clear()
            scanned = len(self._buf)
            await self._wait()

    async def read_exactly(self, n: int, idle_timeout: float) -> bytes | None:
        """``n`` raw bytes, or ``None`` if the host falls silent for ``idle_timeout`` s or
        goes away."""
        self._host_gone = False
        while len(self._buf) < n:
            if self._host_gone:
                self._buf.clear()
                return None
            try:
                async with asyncio.timeout(idle_timeout):
                    await self._wait()
            except TimeoutError:
                self._buf.clear()
                return None
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data


class HostOutput:
    """Everything the module says, in order, to every attached port.

    With ``baudrate`` set, bytes leave at ``baudrate / 10`` bytes per second (8N1) so a
    benchmark sees a UART's throughput; otherwise they are written at once. Paced bytes wait
    in a queue that :meth:`pace` drains; the virtual module runs it in its task group.
    """

    def __init__(self, baudrate: int | None) -> None:
        if baudrate is not None and baudrate <= 0:
            raise ValueError("baudrate must be positive")
        self._rate = None if baudrate is None else baudrate / 10
        self._sinks: list[Sink] = []
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()

    @property
    def paced(self) -> bool:
        return self._rate is not None

    @property
    def attached(self) -> bool:
        return bool(self._sinks)

    def attach(self, sink: Sink) -> None:
        self._sinks.append(sink)

    def detach(self, sink: Sink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def write(self, data: bytes) -> None:
        if self._rate is None:
            self._deliver(data)
        else:
            self._queue.put_nowait(data)

    def flush_pending(self) -> None:
        """Forget bytes still waiting for the UART pacing (the module lost power)."""
        while not self._queue.empty():
            self._queue.get_nowait()

    def _deliver(self, data: bytes) -> None:
        for sink in list(self._sinks):
            sink(data)

    async def pace(self) -> None:
        """Deliver queued bytes at the line rate, until cancelled."""
        rate = self._rate
        if rate is None:
            raise RuntimeError("this output is not paced")
        chunk = max(1, int(rate * 0.005))  # about 5 ms of line time per write
        due = time.monotonic()
        while True:
            if self._queue.empty():
                data = await self._queue.get()
                due = max(due, time.monotonic())  # the line was idle: it starts again now
            else:
                data = self._queue.get_nowait()
            for i in range(0, len(data), chunk):
                part = data[i : i + chunk]
                self._deliver(part)
                # A busy line keeps its schedule: a late wake-up is caught up, not lost.
                due += len(part) / rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
