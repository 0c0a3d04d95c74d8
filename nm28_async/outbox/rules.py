"""The outbox's rules in one place, for both stores: capacity and its overflow policy, expiry,
the refusal bound; and the ledger that applies them to an in-memory mirror of what is
stored, so decisions and `stats` never need the disk."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..errors import OutboxFullError
from ..overflow import Overflow
from ..protocol import commands
from .entry import OutboxStats
from .mirror import Mirror

DEFAULT_SIZE = 100_000
DEFAULT_MAX_REFUSALS = 3
"""As a supervised session's refused publish: a few tries tell a refusal from a glitch."""


@dataclass(frozen=True, slots=True)
class Policy:
    """How many entries an outbox keeps, what a full one does, when an entry expires, and how
    many refusals set an entry aside. Checked here, so a session raises at its call."""

    size: int = DEFAULT_SIZE
    overflow: Overflow = Overflow.DROP_OLDEST
    max_age: float | None = None
    """Seconds; None keeps entries until delivered."""
    max_refusals: int = DEFAULT_MAX_REFUSALS

    def __post_init__(self) -> None:
        commands.check_int("outbox_size", self.size, range(1, 1 << 31))
        if not isinstance(self.overflow, Overflow):
            raise ValueError(f"outbox_overflow must be an Overflow, got {self.overflow!r}")
        if self.overflow is Overflow.DROP_NEWEST:
            # enqueue promises that the returned id is stored: discarding the arrival would
            # break that promise silently; FAIL discards it and says so.
            raise ValueError(
                "outbox_overflow=Overflow.DROP_NEWEST would discard a message after enqueue"
                " accepted it; use Overflow.FAIL (enqueue raises OutboxFullError, stores"
                " nothing) or Overflow.DROP_OLDEST"
            )
        commands.check_duration("max_age", self.max_age, optional=True)
        commands.check_int("max_refusals", self.max_refusals, range(1, 1 << 31))


@dataclass(slots=True)
class Counters:
    """Where entries went, since the outbox was created (the sqlite store keeps them)."""

    delivered: int = 0
    expired: int = 0
    dropped: int = 0
    dead: int = 0

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.delivered, self.expired, self.dropped, self.dead)


@dataclass(frozen=True, slots=True)
class Tally:
    """A snapshot of the ledger, taken where it changed and read anywhere: the sqlite store
    hands one to the event loop with each committed transaction."""

    depth: int = 0
    head_id: int | None = None
    oldest_stored_at: float | None = None
    last_id: int = 0
    """The newest id stored so far (0 before the first): what `flush` waits past."""
    counters: tuple[int, int, int, int] = (0, 0, 0, 0)

    def stats(self, now: float) -> OutboxStats:
        oldest = self.oldest_stored_at
        age = None if oldest is None else max(0.0, now - oldest)
        return OutboxStats(self.depth, age, *self.counters)


@dataclass(slots=True)
class Ledger:
    """The live entries in id order with when each was stored (a `Mirror`), the refusals
    so far, the counters and the next id; its methods decide, the caller (a `Keeper`) then
    writes what was decided."""

    policy: Policy
    next_id: int = 1
    counters: Counters = field(default_factory=Counters)
    _live: Mirror = field(default_factory=Mirror)
    _attempts: dict[int, int] = field(default_factory=dict)
    """Refusals of the live entries refused at least once (few: refusals are rare)."""

    def load(self, rows: Iterable[tuple[int, float, int]]) -> None:
        """Fill the mirror from stored (id, stored_at, attempts) rows, in id order."""
        self._attempts = {}
        self._live = Mirror(self._loaded(rows))
        last = self._live.last()
        if last is not None:
            self.next_id = max(self.next_id, last + 1)

    def _loaded(self, rows: Iterable[tuple[int, float, int]]) -> Iterator[tuple[int, float]]:
        for entry_id, stored_at, attempts in rows:
            if attempts:
                self._attempts[entry_id] = attempts
            yield entry_id, stored_at

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._live

    def head(self) -> int | None:
        head = self._live.head()
        return None if head is None else head[0]

    def to_drop(self) -> list[int]:
        """Room for one more entry: the oldest ids to drop (DROP_OLDEST), or OutboxFullError
        (FAIL) before anything is written."""
        excess = len(self._live) + 1 - self.policy.size
        if excess <= 0:
            return []
        if self.policy.overflow is Overflow.FAIL:
            raise OutboxFullError(f"the outbox holds {len(self._live)} entries, its size")
        return [entry_id for entry_id, _ in itertools.islice(self._live, excess)]

    def to_expire(self, now: float) -> list[int]:
        """The oldest entries older than `max_age`, from the head: an entry stored under a
        clock set back waits its turn at the head rather than costing a scan of every entry."""
        max_age = self.policy.max_age
        if max_age is None:
            return []
        expired: list[int] = []
        for entry_id, stored_at in self._live:
            if not now - stored_at > max_age:
                break
            expired.append(entry_id)
        return expired

    def add(self, stored_at: float) -> int:
        entry_id = self.next_id
        self.next_id += 1
        self._live.append(entry_id, stored_at)
        return entry_id

    def remove(self, ids: Iterable[int]) -> int:
        """Forget the given ids; how many were live (a delivered id that expired meanwhile
        counts once, where it went first)."""
        removed = 0
        for entry_id in ids:
            if self._live.remove(entry_id):
                self._attempts.pop(entry_id, None)
                removed += 1
        return removed

    def refuse(self, entry_id: int) -> int | None:
        """Count one refusal; the attempts so far, or None if the id is not live. The entry
        is dead once this reaches `policy.max_refusals` (see `is_dead`)."""
        if entry_id not in self._live:
            return None
        attempts = self._attempts.get(entry_id, 0) + 1
        self._attempts[entry_id] = attempts
        return attempts

    def is_dead(self, attempts: int) -> bool:
        return attempts >= self.policy.max_refusals

    def tally(self) -> Tally:
        head = self._live.head()
        entry_id, oldest = (None, None) if head is None else head
        return Tally(len(self._live), entry_id, oldest, self.next_id - 1, self.counters.as_tuple())
