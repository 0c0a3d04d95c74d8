"""The calls a session makes for its caller (subscribe, publish, an outbox entry), run on the
link: once it is up, again on the next one after a lost link, a bounded number of times when
the module refuses it on a live one.

A failed command does not by itself mean a lost link: the module answers `ERROR`, or result 2
("send failed"), both when the broker refuses one filter or topic and when the link is dead.
So `AT+MQTTCONN?` decides: if the module still reports the client connected, that one command
was refused (the call raises, the link stays); otherwise the link is lost and the supervisor
reconnects.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from ..engine import Engine
from ..errors import (
    ModemClosedError,
    ModuleRebootedError,
    Nm28Error,
    Nm28TimeoutError,
    NotConnectedError,
    PortLostError,
)
from .backoff import Backoff
from .establish import reported_up
from .link import Link
from .states import LinkState

log = logging.getLogger("nm28_async")

T = TypeVar("T")


class LinkCalls:
    def __init__(
        self, link: Link, engine: Engine, backoff: Backoff, default_timeout: float | None
    ) -> None:
        self._link = link
        self._engine = engine
        self._backoff = backoff
        self._default_timeout = default_timeout

    async def run(
        self,
        operation: Callable[[], Awaitable[T]],
        what: str,
        timeout: float | None,
        *,
        attempts: int = 1,
        wait: bool = True,
    ) -> T:
        """Run `operation` once the link is up; after a lost link, again on the next one.

        Refused on a live link, it is tried `attempts` times in all, then its error raises.
        With `wait=False` it runs at most once: NotConnectedError while the link is down.
        """
        link = self._link
        limit = self._default_timeout if timeout is None else timeout
        refusals = 0
        try:
            with anyio.fail_after(limit):
                while True:
                    if wait:
                        await link.connected.wait()
                    if link.ended is not None:
                        raise link.ended
                    if link.state is not LinkState.CONNECTED:
                        raise NotConnectedError(f"client {link.index} is {link.state.value}")
                    generation = link.generation
                    try:
                        return await operation()
                    except (ModemClosedError, PortLostError):
                        raise
                    except Nm28Error as exc:
                        refused = await self._refused(exc, what, generation)
                        if not wait:
                            raise
                        if not refused:
                            log.info("%s on client %d will be retried", what, link.index)
                            continue
                        refusals += 1
                        if refusals >= attempts:
                            raise
                        await anyio.sleep(self._backoff.delay(refusals - 1))
        except TimeoutError as exc:
            if isinstance(exc, Nm28Error):
                raise  # the command's own timeout, on a live link
            raise Nm28TimeoutError(
                f"{what} on client {link.index} not done within {limit:g} s"
            ) from None

    async def link_up(self) -> bool:
        """Whether the module reports the client connected (`AT+MQTTCONN?`)."""
        return await reported_up(self._engine, self._link.index)

    async def _refused(self, exc: Nm28Error, what: str, generation: int) -> bool:
        """A command failed: True if the module still reports the link up (the command was
        refused); otherwise report the link lost and return False."""
        if not isinstance(exc, ModuleRebootedError) and await self.link_up():
            log.warning("client %d: %s refused on a live link: %s", self._link.index, what, exc)
            return True
        self._link.lose(generation, f"{what} failed: {exc}")
        return False
