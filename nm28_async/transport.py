"""Opens the byte stream to the module: a device path or any pyserial URL, via pyserial-asyncio."""

from __future__ import annotations

import asyncio

import serial_asyncio

from .errors import PortLostError


async def open_stream(
    port: str, baudrate: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open `port` ("/dev/ttyUSB2", "COM3", "socket://127.0.0.1:7000") as asyncio streams."""
    try:
        reader, writer = await serial_asyncio.open_serial_connection(url=port, baudrate=baudrate)
    except (OSError, ValueError) as exc:
        raise PortLostError(f"cannot open {port}: {exc}") from exc
    return reader, writer
