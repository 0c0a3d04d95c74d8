"""An empty outbox is waited on, not polled: `next()` peeks once, then sleeps until an entry
comes (an idle session must not spin a core)."""

from __future__ import annotations

import asyncio

import pytest

from nm28_async.outbox import Entry, MemoryStore

TURNS = 200
"""Loop turns an idle waiter is given: a waiter that polls would peek on nearly each one."""


@pytest.mark.asyncio
async def test_next_on_an_empty_store_peeks_once_then_waits_for_an_entry() -> None:
    store = MemoryStore()
    peeks = 0
    peek = store.peek

    async def counted() -> Entry | None:
        nonlocal peeks
        peeks += 1
        return await peek()

    store.peek = counted  # type: ignore[method-assign]
    waiting = asyncio.create_task(store.next())
    for _ in range(TURNS):
        await asyncio.sleep(0)
    assert not waiting.done()
    assert peeks <= 2
    entry_id = await store.enqueue("t/x", b"1", 1, False)
    entry = await asyncio.wait_for(waiting, 10)
    assert entry.id == entry_id
    await store.close()
