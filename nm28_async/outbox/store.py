"""The async face both stores share: arguments are checked, then a keeper operation runs
where the store says (at once in memory, on the worker thread for sqlite); `stats` and the
waits read the last published tally, so none of them touches the disk."""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

import anyio

from .entry import Entry, Message, OutboxStats
from .keeper import Keeper
from .rules import Policy, Tally

T = TypeVar("T")


class Kind(enum.Enum):
    """How durable an operation's commit must be."""

    DURABLE = "durable"
    """It stores what a caller was promised is on disk (`enqueue`): fsync before returning."""
    LIGHT = "light"
    """Losing it on power loss is allowed: a delivered entry coming back is a duplicate
    (at least once), a refusal lost is one more try, an expiry lost is done again."""


class OutboxStore(abc.ABC):
    """An outbox: `enqueue` stores, the sender takes `next()` and reports `delivered` or
    `refused`; `stats` is synchronous. Use it as an async context manager, or `close()`."""

    def __init__(self, policy: Policy, clock: Callable[[], float]) -> None:
        self.policy = policy
        self._clock = clock
        self._tally = Tally()
        self._changed: anyio.Event | None = None
        """Set (and replaced) whenever the tally changes; made lazily, inside the loop."""

    @abc.abstractmethod
    async def _run(self, kind: Kind, job: Callable[[Keeper], T]) -> T:
        """Run `job` on the keeper, then publish the tally it left."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release what the store holds; later calls raise OutboxError."""

    def _publish(self, tally: Tally) -> None:
        """Take the tally an operation left; wake the waiters only if it changed (a peek
        that changed nothing must not wake `next()`, which would then peek again at once)."""
        if tally == self._tally:
            return
        self._tally = tally
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def _next_change(self) -> anyio.Event:
        if self._changed is None:
            self._changed = anyio.Event()
        return self._changed

    @property
    def stats(self) -> OutboxStats:
        """Depth, age of the oldest entry and the counters, as of the last operation."""
        return self._tally.stats(self._clock())

    @property
    def last_id(self) -> int:
        """The newest id stored so far (0 before the first)."""
        return self._tally.last_id

    async def enqueue(
        self,
        topic: str,
        payload: bytes | bytearray | memoryview | str,
        qos: int = 0,
        retain: bool = False,
    ) -> int:
        """Store a message for delivery; its id, once it is stored (on disk for sqlite).

        Raises ValueError (as `publish` would) before anything is stored, OutboxFullError
        when full under `Overflow.FAIL`, OutboxError when the store cannot write. A cancelled
        call may still have stored its entry: at least once, never at most once.
        """
        message = Message.checked(topic, payload, qos, retain)
        return await self._run(Kind.DURABLE, lambda keeper: keeper.enqueue(message))

    async def peek(self) -> Entry | None:
        """The next entry to deliver, expiring the too old first; None when empty."""
        return await self._run(Kind.LIGHT, Keeper.head)

    async def next(self) -> Entry:
        """The next entry to deliver, waiting for one."""
        while True:
            changed = self._next_change()
            entry = await self.peek()
            if entry is not None:
                return entry
            await changed.wait()

    async def delivered(self, entry_id: int) -> bool:
        """The entry reached its destination: remove it. False if it was no longer live."""
        return await self._run(Kind.LIGHT, lambda keeper: keeper.delivered(entry_id))

    async def refused(self, entry_id: int) -> bool:
        """The module refused the entry on a live link; True when it is now a dead letter."""
        return await self._run(Kind.LIGHT, lambda keeper: keeper.refused(entry_id))

    async def expire(self) -> int:
        """Remove the entries older than `max_age` now (enqueue and peek do it too)."""
        return await self._run(Kind.LIGHT, Keeper.expire)

    async def dead_letters(self) -> list[Entry]:
        """The entries set aside after `max_refusals` refusals (the newest `size` of them)."""
        return await self._run(Kind.LIGHT, Keeper.dead_letters)

    async def settled(self, mark: int) -> None:
        """Wait until no live entry has an id up to `mark` (delivered, dead or expired)."""
        while True:
            changed = self._next_change()
            head = self._tally.head_id
            if head is None or head > mark:
                return
            await changed.wait()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
