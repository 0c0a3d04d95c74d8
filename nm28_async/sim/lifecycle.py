"""``async with`` for the simulator's parts that have a ``start`` and a ``stop``, and the name
of the tasks a virtual module runs between the two."""

from __future__ import annotations

from types import TracebackType
from typing import Self

TASK_PREFIX = "nm28 sim: "
"""Every task of a virtual module is named so, for debugging and for tests that look for
tasks left running."""


class StartStop:
    """Mixin: ``async with obj`` awaits ``obj.start()``, and ``obj.stop()`` on leaving."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
