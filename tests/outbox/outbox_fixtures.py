"""What the outbox tests share: a clock they move by hand, both stores behind one opener,
and a reader of every live entry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from nm28_async.outbox import Entry, MemoryStore, OutboxStore, SqliteStore

KINDS = ("memory", "sqlite")


class FakeClock:
    """Wall time that moves only when a test says so: expiry without waiting."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def opened(kind: str, tmp_path: Path, **options: Any) -> AsyncIterator[OutboxStore]:
    """A store of `kind` ("memory" or "sqlite", in tmp_path/outbox.sqlite as client "c")."""
    store: OutboxStore
    if kind == "memory":
        store = MemoryStore(**options)
    else:
        store = await SqliteStore.open(tmp_path / "outbox.sqlite", "c", **options)
    async with store:
        yield store


async def drain(store: OutboxStore) -> list[Entry]:
    """Every live entry in delivery order (taking them out as delivered)."""
    entries: list[Entry] = []
    while (entry := await store.peek()) is not None:
        entries.append(entry)
        await store.delivered(entry.id)
    return entries


async def until(condition: Callable[[], bool], ceiling: float = 30.0) -> None:
    """Wait until `condition()` holds (what it reads has no event), failing after `ceiling`
    seconds: a generous bound, not a timing assertion."""
    with anyio.fail_after(ceiling):
        while not condition():  # noqa: ASYNC110 (polls a count, bounded by the ceiling)
            await anyio.sleep(0.001)


async def open_and_close(kind: str, tmp_path: Path, **options: Any) -> None:
    """Open a store of `kind` with `options` and close it: for tests of refused options."""
    async with opened(kind, tmp_path, **options):
        pass
