"""Bounded per-client message queue: the reader puts without ever waiting; overflow is a policy."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from collections.abc import AsyncIterator, Sequence
from operator import itemgetter
from typing import Generic, TypeVar

from ..errors import Nm28Error, QueueOverflowError
from ..overflow import Overflow
from ..protocol.events import Message

T = TypeVar("T")


class MessageQueue(Generic[T]):
    """A deque, a drop counter, and one wake-up future per waiting consumer."""

    def __init__(self, maxsize: int, overflow: Overflow) -> None:
        if maxsize < 1:
            raise ValueError(f"queue size must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self.overflow = overflow
        self.dropped = 0
        # DROP_OLDEST is what a bounded deque does by itself, in C.
        self._items: deque[T] = deque(maxlen=maxsize if overflow is Overflow.DROP_OLDEST else None)
        self._getters: deque[asyncio.Future[None]] = deque()
        self._overflowed = False
        self._closed = False
        self._error: Nm28Error | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put_nowait(self, item: T) -> None:
        """Never blocks: called from the reader, which must not stall on a slow consumer."""
        items = self._items
        if len(items) < self.maxsize and not self._closed:
            items.append(item)
            if self._getters:
                self._wake_one()
            return
        if self._closed:
            return
        self.dropped += 1
        if self.overflow is Overflow.DROP_OLDEST:
            items.append(item)  # the deque drops the oldest
        elif self.overflow is Overflow.FAIL:
            self._overflowed = True
            self._wake_one()

    async def get(self) -> T:
        """The next item; StopAsyncIteration once closed and drained, or the closing error."""
        while True:
            if self._overflowed:
                self._overflowed = False
                raise QueueOverflowError(
                    f"message queue overflowed ({self.dropped} messages dropped so far)"
                )
            if self._items:
                return self._items.popleft()
            if self._closed:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            getter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except asyncio.CancelledError:
                if getter.done() and not getter.cancelled():
                    self._wake_one()  # woken, then cancelled: hand the item to another reader
                raise
            finally:
                if not getter.done() or getter.cancelled():
                    with contextlib.suppress(ValueError):
                        self._getters.remove(getter)

    async def items(self) -> AsyncIterator[T]:
        """Iterate: items without waiting while some are queued; ends as `get` does."""
        items = self._items
        while True:
            if items and not self._overflowed:
                yield items.popleft()
                continue
            try:
                item = await self.get()
            except StopAsyncIteration:
                return
            yield item

    def close(self, error: Nm28Error | None = None) -> None:
        """End the queue: readers drain what is left, then stop (or raise `error`)."""
        if not self._closed:
            self._closed = True
            self._error = error
        while self._getters:
            self._wake_one()

    def _wake_one(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return


_INDEX = itemgetter(0)


def deliver(queues: Sequence[MessageQueue[Message]], messages: list[Message]) -> None:
    """Put each message into the queue of its client index.

    The message stream's hot path. A flood comes in batches of thousands: bounded deques take
    DROP_OLDEST queues' messages in C, and drops are counted per batch. A paced line brings a
    message or two per read, and the plain loop touches the least code.
    """
    if len(messages) < _BATCH or not all(
        q.overflow is Overflow.DROP_OLDEST and not q._closed for q in queues
    ):
        for message in messages:
            queues[message[0]].put_nowait(message)
        return
    before = [len(q._items) for q in queues]
    appends = [q._items.append for q in queues]
    for message in messages:
        appends[message[0]](message)
    for index, count in Counter(map(_INDEX, messages)).items():
        queue = queues[index]
        queue.dropped += before[index] + count - len(queue._items)
        if queue._getters:
            queue._wake_one()


_BATCH = 64
