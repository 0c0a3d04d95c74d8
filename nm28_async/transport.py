"""The byte stream to the module: a device path or any pyserial URL, via pyserial-asyncio.

A protocol rather than a StreamReader and a reader task: bytes reach the engine in the
transport's own read callback, one loop turn and one task wake-up sooner per read.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import serial_asyncio

from .errors import PortLostError

READ_SIZE = 65536
"""Bytes asked for per read. pyserial-asyncio 0.6 reads 1 KiB, which halves the ingest rate
of a USB-attached module (benchmarks/); a larger read costs nothing when less is waiting."""

_PIECE = 4000
"""A pty hands over what it holds in pieces of about 4 KiB (4095 bytes here): a shorter read
means the descriptor is empty for now (so is a short read of a socket)."""

READ_LIMIT = 256 * 1024
"""Most bytes one readiness callback takes: a pty hands over about 4 KiB per read, so the
callback reads until the kernel has nothing left (or this much, to stay fair to the rest of
the loop) and the engine, and the consumers it wakes, see one batch."""


class _PortProtocol(asyncio.Protocol):
    def __init__(
        self, on_data: Callable[[bytes], None], on_lost: Callable[[Exception | None], None]
    ) -> None:
        self._on_data = on_data
        self._on_lost = on_lost
        self.error: Exception | None = None
        """Why a direct read ended the port (the transport reports only that it closed)."""
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self._on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self._on_lost(exc or self.error)


def _read_directly(
    transport: asyncio.Transport, fd: int, protocol: _PortProtocol
) -> Callable[[], None]:
    """Replace pyserial-asyncio's read callback (a select(), a read and another select() per
    call, through pyserial's Python loop) by plain reads of the descriptor until it is empty.
    Returns the read for a rested port's timer, which reads without asking the loop."""

    def read(polled: bool) -> None:
        chunks: list[bytes] = []
        total = 0
        error: Exception | None = None
        while total < READ_LIMIT:
            try:
                data = os.read(fd, READ_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                error = exc
                break
            if not data:
                # A tty polled with VMIN 0 reads nothing once drained; nothing at all when
                # the loop said it was readable is a device gone (as pyserial judges it).
                if polled and not chunks:
                    error = ConnectionResetError("the device is readable but returns no data")
                break
            chunks.append(data)
            total += len(data)
            if len(data) < _PIECE:
                break  # the kernel had no more: no need to ask again
        if chunks:
            protocol.data_received(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        if error is not None:
            protocol.error = error
            transport.abort()

    transport._read_ready = lambda: read(True)  # type: ignore[attr-defined]
    return lambda: read(False)


class Port:
    """An open port. Writes go to the device at once when nothing is queued before them.

    pyserial-asyncio 0.6 defers every write to the next loop turn, with two epoll_ctl calls
    around it; on a command round trip that is a third of the driver's time. A device fd is
    non-blocking, so a write the kernel cannot take whole falls back to the transport.
    """

    def __init__(
        self,
        transport: asyncio.Transport,
        protocol: _PortProtocol,
        fd: int | None,
        read: Callable[[], None] | None,
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._fd = fd
        self._read = read
        """Reads what waits without the loop's readiness (None: the transport reads)."""
        self._queued = False
        """Whether bytes may wait in the transport (then they must go first)."""
        self._resume: asyncio.TimerHandle | None = None

    def rest(self, seconds: float) -> None:
        """Stop reading for `seconds`: what arrives meanwhile waits in the kernel and comes
        as one batch. Each read wakes the process, and on a small core the wake-up, not the
        bytes, is what a paced line costs. The timer reads itself, so a steady stream costs
        one wake-up per rest, and the loop watches the port again only when it falls quiet."""
        if self._resume is None and not self._transport.is_closing():
            self._transport.pause_reading()  # a no-op while it rests already
            self._resume = asyncio.get_running_loop().call_later(seconds, self._rested)

    def _rested(self) -> None:
        self._resume = None
        try:
            if self._read is not None and not self._transport.is_closing():
                self._read()  # what it brings may ask for another rest
        finally:
            if self._resume is None:  # the loop watches the port again, whatever happened
                self._watch()

    def wake(self) -> None:
        """Read again now (a command is about to want its answer)."""
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
            self._watch()

    def _watch(self) -> None:
        if not self._transport.is_closing():
            self._transport.resume_reading()  # a no-op while the loop watches it already

    def write(self, data: bytes) -> None:
        """Write now or queue; raises OSError when the port is gone."""
        transport = self._transport
        if transport.is_closing():
            raise ConnectionResetError("the port is closed")
        if self._queued:  # what the transport still holds goes first
            self._queued = bool(transport.get_write_buffer_size())
        if self._fd is not None and not self._queued:
            try:
                written = os.write(self._fd, data)
            except BlockingIOError:
                written = 0
            if written == len(data):
                return
            data = data[written:]
        transport.write(data)
        self._queued = True

    def close(self) -> None:
        self._fd = None
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        self._transport.close()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._protocol.closed)


async def open_port(
    url: str,
    baudrate: int,
    on_data: Callable[[bytes], None],
    on_lost: Callable[[Exception | None], None],
) -> Port:
    """Open `url` ("/dev/ttyUSB2", "COM3", "socket://127.0.0.1:7000"); bytes go to
    `on_data` as they arrive, and `on_lost` hears when the port goes away."""
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await serial_asyncio.create_serial_connection(
            loop, lambda: _PortProtocol(on_data, on_lost), url, baudrate=baudrate
        )
    except (OSError, ValueError) as exc:
        raise PortLostError(f"cannot open {url}: {exc}") from exc
    fd = _descriptor(transport)
    read = None
    if fd is not None:
        read = _read_directly(transport, fd, protocol)
    elif hasattr(transport, "_max_read_size"):
        transport._max_read_size = READ_SIZE
    return Port(transport, protocol, fd, read)


def _descriptor(transport: asyncio.Transport) -> int | None:
    """The port's file descriptor, where the event loop watches one (not on Windows)."""
    serial = transport.get_extra_info("serial")
    if os.name == "nt" or not hasattr(serial, "fileno"):
        return None
    try:
        return int(serial.fileno())
    except (OSError, ValueError):
        return None
