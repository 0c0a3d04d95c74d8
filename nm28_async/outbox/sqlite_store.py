"""The durable outbox: one sqlite file (WAL) holds the outboxes of several sessions, each
keyed by its client id; `enqueue` returns once its entry is fsynced, so it survives
`kill -9` and power loss. The work runs on a worker thread of its own (`worker.py`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self, cast

import anyio

from ..errors import OutboxError
from ..overflow import Overflow
from ..protocol import commands
from .keeper import Keeper
from .rules import DEFAULT_MAX_REFUSALS, DEFAULT_SIZE, Policy, Tally
from .sqlite_backend import SqliteBackend
from .store import Kind, OutboxStore, T
from .worker import Job, Worker

_OPEN: set[tuple[str, str]] = set()
"""(resolved file, client id) of the stores open in this process: two stores writing one
client id's rows would hand out the same ids."""


class SqliteStore(OutboxStore):
    """An outbox in an sqlite file. Open it with `await SqliteStore.open(path, client_id)`.

    Counters (delivered, expired, dropped, dead) and the next id are kept in the file, in
    the transaction that changed them, so they survive a restart at no extra commit.
    """

    def __init__(self, path: Path, client_id: str, policy: Policy, clock: Callable[[], float]):
        """Use `open`; this only builds the object."""
        super().__init__(policy, clock)
        self.path = path
        self.client_id = client_id
        self.transactions = 0
        """Transactions committed so far: fewer than the enqueues when they were grouped."""
        self._closed = False
        self._key = (str(path.resolve()), client_id)
        self._worker = Worker(path, client_id, policy, clock, self._batch_done)

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        client_id: str,
        *,
        size: int = DEFAULT_SIZE,
        overflow: Overflow = Overflow.DROP_OLDEST,
        max_age: float | None = None,
        max_refusals: int = DEFAULT_MAX_REFUSALS,
        clock: Callable[[], float] = time.time,
    ) -> Self:
        """Open (or create) the outbox of `client_id` in the file at `path`.

        Raises ValueError for bad arguments, OutboxError naming the file when it is a
        directory, not an sqlite file, another application's database, a schema version we
        do not read, or unreadable; such a file is left as it was.
        """
        policy = Policy(size, overflow, max_age, max_refusals)
        commands.check_string("client_id", client_id, empty=False)
        if not isinstance(path, str | os.PathLike):
            raise ValueError(f"outbox must be a path, got {type(path).__name__}")
        store = cls(Path(os.fspath(path)), client_id, policy, clock)
        if store._key in _OPEN:
            raise OutboxError(
                f"outbox file {str(store.path)!r} is already open for client id {client_id!r}"
            )
        _OPEN.add(store._key)
        try:
            store._publish(await store._worker.start())
        except BaseException:
            _OPEN.discard(store._key)
            raise
        return store

    def _batch_done(self, tally: Tally, transactions: int) -> None:
        self.transactions += transactions
        self._publish(tally)

    async def _run(self, kind: Kind, job: Callable[[Keeper], T]) -> T:
        if self._closed:
            raise OutboxError(f"outbox file {str(self.path)!r} is closed")
        work = Job(kind, job, anyio.Event())
        self._worker.submit(work)
        await work.done.wait()
        if work.error is not None:
            raise work.error
        return cast(T, work.result)

    async def close(self) -> None:
        """Finish the queued work, close the file (sqlite checkpoints the WAL), end the
        thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            try:
                await self._worker.stop()
            finally:
                _OPEN.discard(self._key)

    async def limit_pages(self, pages: int) -> int:
        """A test hook: cap the file at `pages` pages (`PRAGMA max_page_count`), as a full
        disk would; the cap in force (never below the file's size)."""
        commands.check_int("pages", pages, range(1, 1 << 31))
        return await self._run(
            Kind.LIGHT, lambda keeper: cast(SqliteBackend, keeper.backend).limit_pages(pages)
        )
