"""The serial line: a device path or any pyserial URL, read and written on its descriptor.

The engine's own reader on the descriptor (`loop.add_reader`) rather than pyserial-asyncio's
transport, which reads 1 KiB per call through a select() and pyserial's Python loop, and
defers every write to the next loop turn: a larger read doubles the ingest rate of a
USB-attached module, and a direct write is a third of a command round trip (benchmarks/).
Where the loop cannot watch a descriptor (Windows), pyserial-asyncio's transport serves.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import serial
import serial_asyncio

from ..errors import PortLostError
from .port import DataCallback, LostCallback, Port

READ_SIZE = 65536
"""Bytes asked for per read; a larger read costs nothing when less is waiting."""

_PIECE = 4000
"""A pty hands over what it holds in pieces of about 4 KiB (4095 bytes here): a shorter read
means the descriptor is empty for now (so is a short read of a socket)."""

READ_LIMIT = 256 * 1024
"""Most bytes one readiness callback takes: it reads until the kernel has nothing left (or
this much, to stay fair to the rest of the loop), so the engine sees one batch."""


async def open_serial_port(
    url: str, baudrate: int, on_data: DataCallback, on_lost: LostCallback
) -> Port:
    """Open `url` ("/dev/ttyUSB2", "COM3", "socket://127.0.0.1:7000") exclusively, where the
    platform can lock it: a second program on the same port is refused, not interleaved."""
    loop = asyncio.get_running_loop()

    def open_line() -> Any:
        return serial.serial_for_url(
            url, baudrate=baudrate, timeout=0, write_timeout=0, exclusive=True
        )

    try:
        line = await loop.run_in_executor(None, open_line)
    except (OSError, ValueError, serial.SerialException) as exc:
        raise PortLostError(f"cannot open {url}: {exc}") from exc
    fd = _descriptor(line)
    if fd is None:
        return await _TransportPort.start(loop, line, on_data, on_lost)
    return _DescriptorPort(loop, line, fd, on_data, on_lost)


def _descriptor(line: Any) -> int | None:
    """The line's file descriptor, where the event loop watches one (not on Windows)."""
    if os.name == "nt" or not hasattr(line, "fileno"):
        return None
    try:
        fd = int(line.fileno())
    except (OSError, ValueError, serial.SerialException):
        return None
    os.set_blocking(fd, False)
    return fd


class _DescriptorPort:
    """Reads until the kernel is empty on readiness; writes at once, queueing the rest."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        line: Any,
        fd: int,
        on_data: DataCallback,
        on_lost: LostCallback,
    ) -> None:
        self._loop = loop
        self._line = line
        self._fd = fd
        self._on_data = on_data
        self._on_lost = on_lost
        self._unsent = bytearray()
        self._resume: asyncio.TimerHandle | None = None
        self._open = True
        self._closed: asyncio.Future[None] = loop.create_future()
        loop.add_reader(fd, self._read, True)

    def _read(self, polled: bool) -> None:
        chunks: list[bytes] = []
        total = 0
        error: Exception | None = None
        while total < READ_LIMIT:
            try:
                data = os.read(self._fd, READ_SIZE)
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
            self._on_data(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        if error is not None and self._open:
            self._end(error)

    def rest(self, seconds: float) -> None:
        """What arrives meanwhile waits in the kernel; the timer reads it itself, so a
        steady stream costs one wake-up per rest."""
        if self._resume is None and self._open:
            self._loop.remove_reader(self._fd)
            self._resume = self._loop.call_later(seconds, self._rested)

    def _rested(self) -> None:
        self._resume = None
        try:
            if self._open:
                self._read(False)  # what it brings may ask for another rest
        finally:
            if self._resume is None and self._open:
                self._loop.add_reader(self._fd, self._read, True)

    def wake(self) -> None:
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
            if self._open:
                self._loop.add_reader(self._fd, self._read, True)

    def write(self, data: bytes) -> None:
        if not self._open:
            raise ConnectionResetError("the port is closed")
        if not self._unsent:
            try:
                written = os.write(self._fd, data)
            except BlockingIOError:
                written = 0
            if written == len(data):
                return
            data = data[written:]
            self._loop.add_writer(self._fd, self._flush)
        self._unsent += data

    def _flush(self) -> None:
        try:
            written = os.write(self._fd, self._unsent)
        except BlockingIOError:
            return
        except OSError as exc:
            self._end(exc)
            return
        del self._unsent[:written]
        if not self._unsent:
            self._loop.remove_writer(self._fd)

    def _end(self, error: Exception | None) -> None:
        self._release()
        self._on_lost(error)

    def _release(self) -> None:
        if not self._open:
            return
        self._open = False
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        self._unsent.clear()
        closing = self._loop.run_in_executor(None, self._line.close)
        closing.add_done_callback(lambda _: self._closed.set_result(None))

    def close(self) -> None:
        self._release()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)


class _TransportPort(asyncio.Protocol):
    """pyserial-asyncio's transport, through its public API, where there is no descriptor."""

    def __init__(self, on_data: DataCallback, on_lost: LostCallback) -> None:
        self._on_data = on_data
        self._on_lost = on_lost
        self._transport: asyncio.Transport | None = None
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @classmethod
    async def start(
        cls, loop: asyncio.AbstractEventLoop, line: Any, on_data: DataCallback,
        on_lost: LostCallback,
    ) -> _TransportPort:  # fmt: skip
        port = cls(on_data, on_lost)
        transport, _ = await serial_asyncio.connection_for_serial(loop, lambda: port, line)
        port._transport = transport
        return port

    def data_received(self, data: bytes) -> None:
        self._on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)
        self._on_lost(exc)

    def write(self, data: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            raise ConnectionResetError("the port is closed")
        self._transport.write(data)

    def rest(self, seconds: float) -> None:
        """The transport reads as it likes: resting buys nothing here."""

    def wake(self) -> None:
        """Never rests, so never needs waking."""

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)
