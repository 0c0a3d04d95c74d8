"""The outbox of a session opened without `outbox=`: the same rules and interface as the
sqlite store, held in memory (lost with the process, as a plain session's publishes are)."""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable

import anyio

from ..errors import OutboxError
from ..overflow import Overflow
from .entry import Entry
from .keeper import Keeper
from .rules import DEFAULT_MAX_REFUSALS, DEFAULT_SIZE, Ledger, Policy
from .store import Kind, OutboxStore, T


class MemoryBackend:
    """Entries in a dict by id (the ledger keeps their order), dead letters in a deque."""

    def __init__(self) -> None:
        self._entries: dict[int, Entry] = {}
        self._dead: deque[Entry] = deque()

    def insert(self, entry: Entry) -> None:
        self._entries[entry.id] = entry

    def delete(self, ids: list[int]) -> None:
        for entry_id in ids:
            self._entries.pop(entry_id, None)

    def read(self, entry_id: int) -> Entry | None:
        return self._entries.get(entry_id)

    def set_attempts(self, entry_id: int, attempts: int) -> None:
        entry = self._entries[entry_id]
        self._entries[entry_id] = dataclasses.replace(entry, attempts=attempts)

    def bury(self, entry_id: int, attempts: int, died_at: float) -> None:
        entry = self._entries.pop(entry_id)
        self._dead.append(dataclasses.replace(entry, attempts=attempts))

    def prune_dead(self, keep: int) -> None:
        while len(self._dead) > keep:
            self._dead.popleft()

    def dead_letters(self) -> list[Entry]:
        return list(self._dead)


class MemoryStore(OutboxStore):
    """An outbox in memory. Every operation completes at once (after a checkpoint, so a
    cancelled call did nothing)."""

    def __init__(
        self,
        *,
        size: int = DEFAULT_SIZE,
        overflow: Overflow = Overflow.DROP_OLDEST,
        max_age: float | None = None,
        max_refusals: int = DEFAULT_MAX_REFUSALS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        policy = Policy(size, overflow, max_age, max_refusals)
        super().__init__(policy, clock)
        self._keeper = Keeper(Ledger(policy), MemoryBackend(), clock)
        self._closed = False

    async def _run(self, kind: Kind, job: Callable[[Keeper], T]) -> T:
        if self._closed:
            raise OutboxError("the in-memory outbox is closed")
        await anyio.lowlevel.checkpoint()
        try:
            return job(self._keeper)
        finally:
            self._publish(self._keeper.ledger.tally())

    async def close(self) -> None:
        self._closed = True
