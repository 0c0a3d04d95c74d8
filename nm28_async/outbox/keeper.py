"""The outbox's operations, once for both stores: the keeper applies the ledger's rules and
writes their outcome through a backend (a dict in memory, SQL on the sqlite worker thread).
A store only decides where and when the keeper runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .entry import Entry, Message
from .rules import Ledger


class Backend(Protocol):
    """Where entries are written; every method runs inside the caller's transaction."""

    def insert(self, entry: Entry) -> None: ...

    def delete(self, ids: list[int]) -> None: ...

    def read(self, entry_id: int) -> Entry | None: ...

    def set_attempts(self, entry_id: int, attempts: int) -> None: ...

    def bury(self, entry_id: int, attempts: int, died_at: float) -> None:
        """Move a live entry to the dead letters."""
        ...

    def prune_dead(self, keep: int) -> None:
        """Keep only the newest `keep` dead letters: they are kept for inspection, not
        without bound."""
        ...

    def dead_letters(self) -> list[Entry]: ...


class Keeper:
    """Every change to an outbox: decide with the ledger, write with the backend, count.
    A decision that refuses (OutboxFullError) is made before anything is written."""

    def __init__(self, ledger: Ledger, backend: Backend, clock: Callable[[], float]) -> None:
        self.ledger = ledger
        self.backend = backend
        self._clock = clock

    def enqueue(self, message: Message) -> int:
        """Store one message: expire what is too old, make room by the overflow policy, then
        insert; its id."""
        now = self._clock()
        self._expire(now)
        dropped = self.ledger.to_drop()
        if dropped:
            self.backend.delete(dropped)
            self.ledger.counters.dropped += self.ledger.remove(dropped)
        entry_id = self.ledger.add(now)
        self.backend.insert(
            Entry(entry_id, message.topic, message.payload, message.qos, message.retain, now)
        )
        return entry_id

    def head(self) -> Entry | None:
        """The next entry to deliver (expiring the too old first), or None."""
        self._expire(self._clock())
        entry_id = self.ledger.head()
        if entry_id is None:
            return None
        entry = self.backend.read(entry_id)
        if entry is None:
            raise LookupError(f"entry {entry_id} is live but missing from the store")
        return entry

    def delivered(self, entry_id: int) -> bool:
        """Remove a delivered entry; False if it was no longer live (expired or dropped while
        in flight: counted where it went first)."""
        if not self.ledger.remove([entry_id]):
            return False
        self.backend.delete([entry_id])
        self.ledger.counters.delivered += 1
        return True

    def refused(self, entry_id: int) -> bool:
        """Count a refusal on a live link; True when that was the last one allowed and the
        entry is now a dead letter (so it cannot block the queue)."""
        attempts = self.ledger.refuse(entry_id)
        if attempts is None:
            return False
        if not self.ledger.is_dead(attempts):
            self.backend.set_attempts(entry_id, attempts)
            return False
        self.ledger.remove([entry_id])
        self.backend.bury(entry_id, attempts, self._clock())
        self.backend.prune_dead(self.ledger.policy.size)
        self.ledger.counters.dead += 1
        return True

    def expire(self) -> int:
        """Remove entries older than `max_age` now; how many."""
        return self._expire(self._clock())

    def _expire(self, now: float) -> int:
        expired = self.ledger.to_expire(now)
        if not expired:
            return 0
        self.backend.delete(expired)
        count = self.ledger.remove(expired)
        self.ledger.counters.expired += count
        return count

    def dead_letters(self) -> list[Entry]:
        return self.backend.dead_letters()
