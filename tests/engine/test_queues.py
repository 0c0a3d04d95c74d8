"""MessageQueue: overflow policies, drop counting, closing, never-blocking puts."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from support.engine_watch import started

from nm28_async.engine.queues import MessageQueue
from nm28_async.errors import Nm28Error, QueueOverflowError
from nm28_async.overflow import Overflow


async def drain(queue: MessageQueue[int]) -> list[int]:
    """Read until the queue reports its end."""
    items: list[int] = []
    while True:
        try:
            items.append(await asyncio.wait_for(queue.get(), 1))
        except StopAsyncIteration:
            return items


def filled(overflow: Overflow, count: int = 5, maxsize: int = 3) -> MessageQueue[int]:
    """A queue of `maxsize` that was offered 1..count."""
    queue: MessageQueue[int] = MessageQueue(maxsize, overflow)
    for i in range(1, count + 1):
        queue.put_nowait(i)
    return queue


@pytest.mark.asyncio
async def test_drop_oldest_keeps_newest() -> None:
    """DROP_OLDEST keeps the last maxsize items."""
    queue = filled(Overflow.DROP_OLDEST)
    assert queue.dropped == 2
    assert len(queue) == 3
    queue.close()
    assert await drain(queue) == [3, 4, 5]


@pytest.mark.asyncio
async def test_drop_newest_keeps_first() -> None:
    """DROP_NEWEST discards arrivals once full."""
    queue = filled(Overflow.DROP_NEWEST)
    assert queue.dropped == 2
    queue.close()
    assert await drain(queue) == [1, 2, 3]


@pytest.mark.asyncio
async def test_fail_raises_once() -> None:
    """FAIL: the next read raises QueueOverflowError once, then the kept items follow."""
    queue = filled(Overflow.FAIL)
    assert queue.dropped == 2
    with pytest.raises(QueueOverflowError, match="2 messages dropped"):
        await queue.get()
    queue.close()
    assert await drain(queue) == [1, 2, 3]


@pytest.mark.asyncio
async def test_fail_wakes_waiting_reader() -> None:
    """A reader already waiting gets the overflow error first, then the kept item."""
    queue: MessageQueue[int] = MessageQueue(1, Overflow.FAIL)
    queue.put_nowait(1)
    assert await queue.get() == 1
    reader = await started(queue.get())
    queue.put_nowait(2)
    queue.put_nowait(3)  # overflows while the reader waits
    with pytest.raises(QueueOverflowError):
        await asyncio.wait_for(reader, 1)
    assert await queue.get() == 2


@pytest.mark.asyncio
async def test_waiting_reader_gets_put_item() -> None:
    """get() waits for put_nowait()."""
    queue: MessageQueue[int] = MessageQueue(2, Overflow.DROP_OLDEST)
    reader = await started(queue.get())
    assert not reader.done()
    queue.put_nowait(7)
    assert await asyncio.wait_for(reader, 1) == 7


@pytest.mark.asyncio
async def test_cancelled_reader_does_not_lose_items() -> None:
    """A cancelled get() leaves the queue usable and the item in it."""
    queue: MessageQueue[int] = MessageQueue(2, Overflow.DROP_OLDEST)
    reader = await started(queue.get())
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    queue.put_nowait(1)
    assert await asyncio.wait_for(queue.get(), 1) == 1


@pytest.mark.asyncio
async def test_close_without_error() -> None:
    """close(): drained items first, then StopAsyncIteration; later puts are ignored."""
    queue = filled(Overflow.DROP_OLDEST, count=2)
    queue.close()
    queue.put_nowait(99)
    assert len(queue) == 2
    assert queue.dropped == 0
    assert await drain(queue) == [1, 2]
    with pytest.raises(StopAsyncIteration):
        await queue.get()


@pytest.mark.asyncio
async def test_close_with_error() -> None:
    """close(error): drained items first, then the error, every time."""
    queue = filled(Overflow.DROP_OLDEST, count=1)
    error = Nm28Error("link lost")
    queue.close(error)
    queue.close(Nm28Error("second close is ignored"))
    assert await queue.get() == 1
    for _ in range(2):
        with pytest.raises(Nm28Error, match="link lost"):
            await queue.get()


@pytest.mark.asyncio
async def test_close_wakes_waiting_reader() -> None:
    """A reader waiting on an empty queue ends when it is closed."""
    queue: MessageQueue[int] = MessageQueue(1, Overflow.DROP_OLDEST)
    reader = await started(queue.get())
    queue.close(Nm28Error("closed"))
    with pytest.raises(Nm28Error, match="closed"):
        await asyncio.wait_for(reader, 1)


@pytest.mark.parametrize("overflow", list(Overflow))
def test_put_nowait_never_blocks(overflow: Overflow) -> None:
    """put_nowait is plain sync code: many puts into a full queue return at once."""
    assert not inspect.iscoroutinefunction(MessageQueue.put_nowait)
    queue: MessageQueue[int] = MessageQueue(1, overflow)
    for i in range(10_000):
        queue.put_nowait(i)
    assert len(queue) == 1
    assert queue.dropped == 9_999


@pytest.mark.parametrize("size", [0, -1])
def test_size_must_be_positive(size: int) -> None:
    """A queue holds at least one item."""
    with pytest.raises(ValueError, match="at least 1"):
        MessageQueue(size, Overflow.DROP_OLDEST)
