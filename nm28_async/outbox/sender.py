"""One sender per session: it delivers the outbox's entries in order whenever the link is
up. How an entry is published and how the link is watched are injected, so the same loop
serves a session, the bridge and the tests."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import NoReturn

import anyio

from ..errors import Nm28TimeoutError
from ..protocol import commands
from .entry import Entry
from .store import OutboxStore


class Outcome(enum.Enum):
    """What became of one delivery attempt (the `deliver` function maps errors to these)."""

    DELIVERED = "delivered"
    """The module took it (QoS 0) or the broker acknowledged it (QoS 1, 2): remove it."""
    REFUSED = "refused"
    """Refused on a live link: counted, retried up to `max_refusals`, then set aside."""
    LINK_DOWN = "link_down"
    """The link went down: the entry stays first, tried again once the link is back."""


Deliver = Callable[[Entry], Awaitable[Outcome]]
WaitLink = Callable[[], Awaitable[None]]


class Sender:
    """Takes the oldest entry, waits for the link, delivers, and reports the outcome to the
    store; a refused entry cannot block the queue (the refusal bound sets it aside)."""

    def __init__(self, store: OutboxStore, deliver: Deliver, wait_link: WaitLink) -> None:
        if not callable(deliver) or not callable(wait_link):
            raise ValueError("deliver and wait_link must be coroutine functions")
        self.store = store
        self._deliver = deliver
        self._wait_link = wait_link

    async def run(self) -> NoReturn:
        """Deliver for ever (run it in a task group; cancel it to stop). An exception from
        `deliver` or `wait_link` ends it: they report failures as outcomes."""
        while True:
            await self.send_one()

    async def send_one(self) -> Outcome:
        """Wait for an entry and the link, then deliver the entry that is first by then (a
        wait may have seen the first one expire or dropped)."""
        while True:
            first = await self.store.next()
            await self._wait_link()
            entry = await self.store.peek()
            if entry is not None and entry.id == first.id:
                break
        outcome = await self._deliver(entry)
        if outcome is Outcome.DELIVERED:
            await self.store.delivered(entry.id)
        elif outcome is Outcome.REFUSED:
            await self.store.refused(entry.id)
        elif outcome is not Outcome.LINK_DOWN:
            raise TypeError(f"deliver must return an Outcome, got {outcome!r}")
        return outcome

    async def flush(self, timeout: float) -> None:
        """Wait until every entry stored before this call is delivered, dead or expired.

        Raises ValueError unless `timeout` is a positive number of seconds, and
        Nm28TimeoutError (a TimeoutError) when entries still wait after it.
        """
        commands.check_duration("timeout", timeout)
        mark = self.store.last_id
        try:
            with anyio.fail_after(timeout):
                await self.store.settled(mark)
        except TimeoutError:
            raise Nm28TimeoutError(
                f"flush: entries up to id {mark} still wait after {timeout} s"
                f" ({self.store.stats.depth} in the outbox)"
            ) from None
