"""What the engine needs of a port: the serial line to a module, or an in-memory one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

DataCallback = Callable[[bytes], None]
LostCallback = Callable[[Exception | None], None]


class Port(Protocol):
    """An open byte stream whose reads arrive as callbacks (no reader task)."""

    def write(self, data: bytes) -> None:
        """Write now or queue; raises OSError when the port is gone."""

    def rest(self, seconds: float) -> None:
        """Stop reading for `seconds`: what arrives meanwhile comes as one batch."""

    def wake(self) -> None:
        """Read again now (a command is about to want its answer)."""

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


PortOpener = Callable[[str, int, DataCallback, LostCallback], Awaitable[Port]]
"""`open(url, baudrate, on_data, on_lost)`: bytes go to `on_data` as they arrive, and
`on_lost` hears once when the port goes away (with why, or None at the end of the stream)."""
