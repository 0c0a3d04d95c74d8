"""Opens the byte stream to the module: a device path or any pyserial URL, via pyserial-asyncio."""

from __future__ import annotations

import asyncio
import os

import serial_asyncio

from .errors import PortLostError

READ_SIZE = 65536
"""Bytes read per readiness callback. pyserial-asyncio 0.6 reads 1 KiB, which halves the
ingest rate of a USB-attached module (benchmarks/); a larger read costs nothing when less
is waiting."""


class PortWriter:
    """Writes to the port at once when nothing is queued before it.

    pyserial-asyncio 0.6 defers every write to the next loop turn, with two epoll_ctl calls
    around it; on a command round trip that is a third of the driver's time. A device fd is
    non-blocking, so a write the kernel cannot take whole falls back to the transport.
    """

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._fd: int | None = getattr(writer.transport.get_extra_info("serial"), "fd", None)

    def write(self, data: bytes) -> None:
        transport = self._writer.transport
        if self._fd is not None and not transport.get_write_buffer_size():
            if transport.is_closing():
                raise ConnectionResetError("the port is closed")
            try:
                written = os.write(self._fd, data)
            except BlockingIOError:
                written = 0
            if written == len(data):
                return
            data = data[written:]
        self._writer.write(data)

    @property
    def buffered(self) -> int:
        """Bytes the transport still holds for the port."""
        return self._writer.transport.get_write_buffer_size()

    async def drain(self) -> None:
        await self._writer.drain()

    def close(self) -> None:
        self._fd = None
        self._writer.close()

    async def wait_closed(self) -> None:
        await self._writer.wait_closed()


async def open_stream(port: str, baudrate: int) -> tuple[asyncio.StreamReader, PortWriter]:
    """Open `port` ("/dev/ttyUSB2", "COM3", "socket://127.0.0.1:7000") as asyncio streams."""
    try:
        reader, writer = await serial_asyncio.open_serial_connection(url=port, baudrate=baudrate)
    except (OSError, ValueError) as exc:
        raise PortLostError(f"cannot open {port}: {exc}") from exc
    transport = writer.transport
    if hasattr(transport, "_max_read_size"):
        transport._max_read_size = READ_SIZE
    return reader, PortWriter(writer)
