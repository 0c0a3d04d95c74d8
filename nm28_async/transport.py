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
"""Bytes read per readiness callback. pyserial-asyncio 0.6 reads 1 KiB, which halves the
ingest rate of a USB-attached module (benchmarks/); a larger read costs nothing when less
is waiting."""


class _PortProtocol(asyncio.Protocol):
    def __init__(
        self, on_data: Callable[[bytes], None], on_lost: Callable[[Exception | None], None]
    ) -> None:
        self._on_data = on_data
        self._on_lost = on_lost
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self._on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self._on_lost(exc)


class Port:
    """An open port. Writes go to the device at once when nothing is queued before them.

    pyserial-asyncio 0.6 defers every write to the next loop turn, with two epoll_ctl calls
    around it; on a command round trip that is a third of the driver's time. A device fd is
    non-blocking, so a write the kernel cannot take whole falls back to the transport.
    """

    def __init__(self, transport: asyncio.Transport, protocol: _PortProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._fd: int | None = getattr(transport.get_extra_info("serial"), "fd", None)

    def write(self, data: bytes) -> None:
        """Write now or queue; raises OSError when the port is gone."""
        transport = self._transport
        if transport.is_closing():
            raise ConnectionResetError("the port is closed")
        if self._fd is not None and not transport.get_write_buffer_size():
            try:
                written = os.write(self._fd, data)
            except BlockingIOError:
                written = 0
            if written == len(data):
                return
            data = data[written:]
        transport.write(data)

    def close(self) -> None:
        self._fd = None
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
    if hasattr(transport, "_max_read_size"):
        transport._max_read_size = READ_SIZE
    return Port(transport, protocol)
