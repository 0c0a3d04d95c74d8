"""A session's link as its parts share it: the state and its changes, whether it is up, which
connection it is, why it was lost, and how the session ended."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import anyio

from ..engine import MessageQueue
from ..errors import Nm28Error, Nm28TimeoutError, NotConnectedError
from ..overflow import Overflow
from ..protocol import commands
from .states import LinkState, StateChange

log = logging.getLogger("nm28_async")

STATE_CHANGES_KEPT = 256
"""State changes kept for a slow `states()` reader; the oldest give way."""


class Link:
    def __init__(self, index: int) -> None:
        self.index = index
        self.state = LinkState.CLOSED
        self._changes: MessageQueue[StateChange] = MessageQueue(
            STATE_CHANGES_KEPT, Overflow.DROP_OLDEST
        )
        self.connected = asyncio.Event()
        """Set while CONNECTED, and for good once the session ended (see `ended`)."""
        self.generation = 0
        """Counts connections: a failure seen on an earlier one must not drop the current."""
        self.ended: Nm28Error | None = None
        self.wake = asyncio.Event()
        """Set when the link is lost (`lost_reason` says why) or must be checked now."""
        self.lost_reason: str | None = None
        self.reconnects = 0
        self.last_error: Nm28Error | None = None
        """Why the last connection attempt failed (None until one did)."""

    def changes(self) -> AsyncIterator[StateChange]:
        return self._changes.items()

    def show(self, state: LinkState, reason: str) -> None:
        """Enter `state`, for `reason` (what `states()` yields)."""
        self.state = state
        log.info("client %d: %s (%s)", self.index, state.value, reason)
        self._changes.put_nowait(StateChange(state, reason))

    def up(self, reason: str) -> None:
        """A new connection is up."""
        self.generation += 1
        self.lost_reason = None
        self.wake.clear()
        self.show(LinkState.CONNECTED, reason)
        self.connected.set()

    def lose(self, generation: int, reason: str) -> None:
        """Connection `generation` was lost: wake the supervisor (unless it is an old one)."""
        if (
            self.state is LinkState.CONNECTED
            and self.ended is None
            and generation == self.generation
        ):
            log.warning("client %d link lost: %s", self.index, reason)
            self.lost_reason = reason
            self.connected.clear()
            self.wake.set()

    def end(self, reason: str, error: Nm28Error | None) -> None:
        """The session is over: fail every waiting call, end `states()`."""
        if self.ended is None:
            self.ended = error or NotConnectedError(f"the session of client {self.index} ended")
        self.connected.set()  # wakes waiters, which then raise `ended`
        if self.state is not LinkState.CLOSED:
            self.show(LinkState.CLOSED, reason)
        self._changes.close()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait for the link; raises Nm28TimeoutError (a TimeoutError), or the reason the
        session ended."""
        commands.check_duration("timeout", timeout, optional=True)
        try:
            with anyio.fail_after(timeout):
                await self.connected.wait()
        except TimeoutError:
            raise Nm28TimeoutError(
                f"client {self.index} not connected within {timeout:g} s"
            ) from None
        if self.ended is not None:
            raise self.ended
