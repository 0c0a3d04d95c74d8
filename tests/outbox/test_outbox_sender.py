"""The sender with fake deliver functions and a link the test switches: order, bounded
refusals, a link that goes down keeps its entry first, flush and its timeout."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from outbox_fixtures import KINDS, FakeClock, opened, until

from nm28_async import Nm28Error
from nm28_async.outbox import Entry, MemoryStore, OutboxStore, Outcome, Sender


class Link:
    """A link the test raises and drops; `wait` is the sender's `wait_link`."""

    def __init__(self, up: bool = True) -> None:
        self._up = anyio.Event()
        if up:
            self._up.set()

    def raise_(self) -> None:
        self._up.set()

    def drop(self) -> None:
        if self._up.is_set():
            self._up = anyio.Event()

    async def wait(self) -> None:
        await self._up.wait()


class Module:
    """A fake `deliver`: records every attempt, refuses some topics, and answers LINK_DOWN
    (dropping the link) for the attempts the test lists."""

    def __init__(self, link: Link, refuse: tuple[str, ...] = (), down_on: tuple[int, ...] = ()):
        self.link = link
        self.refuse = refuse
        self.down_on = set(down_on)
        self.attempts: list[int] = []
        self.gate: anyio.Event | None = None

    async def deliver(self, entry: Entry) -> Outcome:
        self.attempts.append(entry.id)
        if self.gate is not None:
            await self.gate.wait()
        if len(self.attempts) in self.down_on:
            self.link.drop()
            return Outcome.LINK_DOWN
        return Outcome.REFUSED if entry.topic in self.refuse else Outcome.DELIVERED


@asynccontextmanager
async def sending(store: OutboxStore, module: Module) -> AsyncIterator[Sender]:
    sender = Sender(store, module.deliver, module.link.wait)
    async with anyio.create_task_group() as tg:
        tg.start_soon(sender.run)
        yield sender
        tg.cancel_scope.cancel()


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
async def test_entries_are_delivered_in_order(kind: str, tmp_path: Path) -> None:
    module = Module(Link())
    async with opened(kind, tmp_path) as store, sending(store, module) as sender:
        ids = [await store.enqueue("t", f"{i}".encode(), qos=1) for i in range(30)]
        await sender.flush(timeout=30)
        assert module.attempts == ids
        assert (store.stats.depth, store.stats.delivered) == (0, 30)


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_refused_entry_is_tried_a_bounded_number_of_times(
    kind: str, tmp_path: Path
) -> None:
    module = Module(Link(), refuse=("t/bad",))
    async with (
        opened(kind, tmp_path, max_refusals=4) as store,
        sending(store, module) as sender,
    ):
        bad = await store.enqueue("t/bad", b"x")
        good = await store.enqueue("t/good", b"y")
        await sender.flush(timeout=30)
        assert module.attempts == [bad] * 4 + [good]
        assert (store.stats.dead, store.stats.delivered, store.stats.depth) == (1, 1, 0)
        assert [(e.id, e.attempts) for e in await store.dead_letters()] == [(bad, 4)]


@pytest.mark.asyncio
async def test_a_link_that_goes_down_keeps_the_entry_first() -> None:
    link = Link()
    module = Module(link, down_on=(1,))
    store = MemoryStore(max_refusals=1)
    async with store, sending(store, module) as sender:
        first = await store.enqueue("t", b"1")
        second = await store.enqueue("t", b"2")
        await until(lambda: len(module.attempts) == 1)
        entry = await store.peek()
        assert entry is not None
        assert (entry.id, entry.attempts) == (first, 0)
        assert store.stats.dead == 0  # a link failure is no refusal
        link.raise_()
        await sender.flush(timeout=30)
        assert module.attempts == [first, first, second]
        assert store.stats.delivered == 2


@pytest.mark.asyncio
async def test_nothing_is_delivered_while_the_link_is_down() -> None:
    link = Link(up=False)
    module = Module(link)
    store = MemoryStore()
    async with store, sending(store, module) as sender:
        await store.enqueue("t", b"1")
        for _ in range(100):
            await anyio.lowlevel.checkpoint()
        assert module.attempts == []
        assert store.stats.depth == 1
        link.raise_()
        await sender.flush(timeout=30)
        assert module.attempts == [1]


@pytest.mark.asyncio
async def test_flush_waits_only_for_what_was_stored_before_it() -> None:
    module = Module(Link())
    store = MemoryStore()
    async with store, sending(store, module) as sender:
        await store.enqueue("t", b"1")
        await until(lambda: store.stats.delivered == 1)
        module.gate = anyio.Event()  # the next delivery hangs until the test opens it
        await store.enqueue("t", b"2")
        done = anyio.Event()

        async def flush() -> None:
            await sender.flush(timeout=30)
            done.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(flush)
            await until(lambda: module.attempts == [1, 2])
            later = await store.enqueue("t", b"3")
            assert not done.is_set()
            module.gate.set()
            with anyio.fail_after(30):
                await done.wait()
        assert later == 3


@pytest.mark.asyncio
async def test_flush_of_an_empty_outbox_returns_at_once() -> None:
    store = MemoryStore()
    sender = Sender(store, Module(Link(up=False)).deliver, Link(up=False).wait)
    with anyio.fail_after(30):
        await sender.flush(timeout=5)


@pytest.mark.asyncio
async def test_flush_raises_a_timeout_error_while_entries_wait() -> None:
    link = Link(up=False)
    store = MemoryStore()
    async with store, sending(store, Module(link)) as sender:
        await store.enqueue("t", b"1")
        with pytest.raises(TimeoutError, match="still wait") as caught:
            await sender.flush(timeout=0.05)
        assert isinstance(caught.value, Nm28Error)
        assert store.stats.depth == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("timeout", [0, -1, math.nan, math.inf, "5", None])
async def test_flush_needs_a_positive_timeout(timeout: object) -> None:
    store = MemoryStore()
    sender = Sender(store, Module(Link()).deliver, Link().wait)
    with pytest.raises(ValueError, match="timeout"):
        await sender.flush(timeout)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_expired_entries_are_never_sent() -> None:
    clock = FakeClock()
    module = Module(Link())
    store = MemoryStore(max_age=60, clock=clock)
    await store.enqueue("t", b"old")
    clock.now += 61
    fresh = await store.enqueue("t", b"fresh")
    async with store, sending(store, module) as sender:
        await sender.flush(timeout=30)
    assert module.attempts == [fresh]
    assert (store.stats.expired, store.stats.delivered) == (1, 1)


@pytest.mark.asyncio
async def test_deliver_must_return_an_outcome() -> None:
    async def deliver(entry: Entry) -> Outcome:
        return "sent"  # type: ignore[return-value]

    store = MemoryStore()
    await store.enqueue("t", b"1")
    sender = Sender(store, deliver, Link().wait)
    with pytest.raises(TypeError, match="Outcome"):
        await sender.send_one()


@pytest.mark.asyncio
async def test_deliver_and_wait_link_must_be_callable() -> None:
    with pytest.raises(ValueError, match="deliver"):
        Sender(MemoryStore(), None, Link().wait)  # type: ignore[arg-type]
