"""A session's outbox: the store it opens, and how its sender publishes over the session.

The store and the sender are the outbox package's; this module only ties them to a session:
an entry is published once the link is up, a refusal on a live link counts against the
entry's bound, and a lost link leaves the entry first for the next link.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio

from ..errors import ModemClosedError, Nm28Error, NotConnectedError, PortLostError
from ..outbox import (
    Entry,
    MemoryStore,
    OutboxStats,
    OutboxStore,
    Outcome,
    Policy,
    Sender,
    SqliteStore,
)

log = logging.getLogger("nm28_async")

CLOSE_LIMIT = 5.0
"""Seconds closing the store may take (its last commit), even inside a cancelled scope."""

Publish = Callable[[Entry], Awaitable[object]]


@asynccontextmanager
async def opened_store(
    path: str | os.PathLike[str] | None, client_id: str, policy: Policy
) -> AsyncIterator[OutboxStore]:
    """The session's store: on disk at `path` (OutboxError naming a bad file), else in
    memory; closed on exit, shielded and bounded."""
    store: OutboxStore
    if path is None:
        store = MemoryStore(
            size=policy.size, overflow=policy.overflow, max_age=policy.max_age,
            max_refusals=policy.max_refusals,
        )  # fmt: skip
    else:
        store = await SqliteStore.open(
            path, client_id, size=policy.size, overflow=policy.overflow,
            max_age=policy.max_age, max_refusals=policy.max_refusals,
        )  # fmt: skip
    try:
        yield store
    finally:
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_LIMIT):
            await store.close()


class SessionOutbox:
    """The store and its sender, for one session: `publish` runs an entry on the link
    (retrying across lost links itself); what it raises becomes the entry's outcome."""

    def __init__(
        self, store: OutboxStore, publish: Publish, wait_link: Callable[[], Awaitable[object]]
    ) -> None:
        self._store = store
        self._publish = publish
        self._wait_link = wait_link
        self._sender = Sender(store, self._deliver, self._link)

    @property
    def stats(self) -> OutboxStats:
        return self._store.stats

    async def enqueue(
        self, topic: str, payload: bytes | bytearray | memoryview | str, qos: int, retain: bool
    ) -> int:
        return await self._store.enqueue(topic, payload, qos, retain)

    async def flush(self, timeout: float) -> None:
        await self._sender.flush(timeout)

    async def run(self, ended: Callable[[], bool]) -> None:
        """Deliver until `ended()` or the modem is gone; what is not delivered stays."""
        try:
            while not ended():
                await self._sender.send_one()
        except (ModemClosedError, PortLostError) as exc:
            log.info("outbox delivery stops: %s", exc)

    async def _link(self) -> None:
        await self._wait_link()

    async def _deliver(self, entry: Entry) -> Outcome:
        try:
            await self._publish(entry)
        except (ModemClosedError, PortLostError):
            raise  # the session is ending: the entry stays stored
        except (NotConnectedError, TimeoutError) as exc:
            log.info("outbox entry %d waits for the next link: %s", entry.id, exc)
            return Outcome.LINK_DOWN
        except Nm28Error as exc:
            log.warning("outbox entry %d refused: %s", entry.id, exc)
            return Outcome.REFUSED
        return Outcome.DELIVERED
