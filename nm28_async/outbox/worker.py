"""The thread that owns an outbox file's connection: all sqlite work runs here, never on the
event loop. Jobs queue up while a transaction commits and go into the next one together
(group commit): one fsync covers every enqueue of the batch, and each caller resumes only
once the transaction holding its entry committed."""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from ..errors import OutboxError, OutboxFullError
from . import schema
from .keeper import Keeper
from .rules import Ledger, Policy, Tally
from .sqlite_backend import SqliteBackend
from .store import Kind


@dataclass(eq=False, slots=True)
class Job:
    """One keeper operation for the worker; `done` is set on the loop once it committed (or
    failed), with `result` or `error`."""

    kind: Kind
    run: Callable[[Keeper], object]
    done: anyio.Event
    result: object = None
    error: BaseException | None = None


class Worker:
    """One outbox file and client id on a dedicated thread, fed by a queue. `on_batch(tally,
    transactions)` runs on the loop after each batch, before its callers resume."""

    def __init__(
        self,
        path: Path,
        client_id: str,
        policy: Policy,
        clock: Callable[[], float],
        on_batch: Callable[[Tally, int], None],
    ) -> None:
        self._path = path
        self._client_id = client_id
        self._policy = policy
        self._clock = clock
        self._on_batch = on_batch
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        """None asks the thread to close the connection and end."""
        self._token = anyio.lowlevel.current_token()
        self._ready = anyio.Event()
        self._stopped = anyio.Event()
        self._open_error: BaseException | None = None
        self._broken: BaseException | None = None
        self._synchronous_full: bool | None = None
        self._thread = threading.Thread(
            target=self._main, name=f"nm28-outbox {client_id}", daemon=True
        )

    # --- the event loop's side ---------------------------------------------------------

    async def start(self) -> Tally:
        """Open the file on the thread; the tally of what it holds, or its OutboxError."""
        self._thread.start()
        try:
            await self._ready.wait()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.stop()
            raise
        if self._open_error is not None:
            await anyio.to_thread.run_sync(self._thread.join)
            raise self._open_error
        return self._tally

    def submit(self, job: Job) -> None:
        self._jobs.put(job)

    async def stop(self) -> None:
        """Let the queued jobs finish, close the connection, end the thread."""
        self._jobs.put(None)
        await self._stopped.wait()
        await anyio.to_thread.run_sync(self._thread.join)
        self._on_batch = _ignore  # the store refers to us: no cycle keeps the ledger alive

    def _opened(self, error: BaseException | None) -> None:
        self._open_error = error
        self._ready.set()
        if error is not None:
            self._stopped.set()

    def _finished(self, jobs: list[Job], tally: Tally, transactions: int) -> None:
        self._on_batch(tally, transactions)
        for job in jobs:
            job.done.set()

    # --- the thread's side -------------------------------------------------------------

    def _to_loop(self, func: Callable[..., None], *args: object) -> None:
        # RunFinishedError: the loop ended without closing the store; nobody waits any more
        with contextlib.suppress(anyio.RunFinishedError):
            anyio.from_thread.run_sync(func, *args, token=self._token)

    def _main(self) -> None:
        try:
            self._open()
        except BaseException as exc:
            self._to_loop(self._opened, exc)
            return
        self._to_loop(self._opened, None)
        try:
            while self._serve_batch():
                pass
        finally:
            self._conn.close()
            self._to_loop(self._stopped.set)

    def _open(self) -> None:
        conn = schema.connect(self._path)
        try:
            cid = schema.client_number(conn, self._client_id)
            self._ledger = Ledger(self._policy)
            schema.load(conn, cid, self._ledger)
        except sqlite3.Error as exc:
            conn.close()
            raise self._failure("cannot be read", exc) from exc
        self._conn = conn
        self._cid = cid
        self._backend = SqliteBackend(conn, cid)
        self._keeper = Keeper(self._ledger, self._backend, self._clock)
        self._tally = self._ledger.tally()

    def _serve_batch(self) -> bool:
        """Take every job queued now, run them in one transaction; False once asked to end."""
        batch = [self._jobs.get()]
        while True:
            try:
                batch.append(self._jobs.get_nowait())
            except queue.Empty:
                break
        jobs = [job for job in batch if job is not None]
        if jobs:
            transactions = self._execute(jobs)
            self._to_loop(self._finished, jobs, self._ledger.tally(), transactions)
        return len(jobs) == len(batch)

    def _execute(self, jobs: list[Job]) -> int:
        """Run the jobs in one transaction; if it fails, roll back and run each in its own,
        so one job that cannot be stored (a full disk) fails alone. Transactions committed."""
        if self._broken is not None:
            return self._fail(jobs, self._broken)
        try:
            self._transaction(jobs)
            return 1
        except Exception as exc:
            if not self._recover(exc):
                return self._fail(jobs, exc)
            if len(jobs) == 1:
                return self._fail(jobs, exc)
        committed = 0
        for index, job in enumerate(jobs):
            job.result = job.error = None
            try:
                self._transaction([job])
                committed += 1
            except Exception as exc:
                self._fail([job], exc)
                if not self._recover(exc):
                    self._fail(jobs[index + 1 :], exc)
                    break
        return committed

    def _transaction(self, jobs: list[Job]) -> None:
        self._set_synchronous(any(job.kind is Kind.DURABLE for job in jobs))
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for job in jobs:
                try:
                    job.result = job.run(self._keeper)
                except OutboxFullError as exc:  # decided before any write: the rest goes on
                    job.error = exc
            self._backend.save(self._ledger)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _set_synchronous(self, full: bool) -> None:
        """FULL (fsync the WAL at commit) for what enqueue promised; NORMAL otherwise, whose
        commits become durable with the next FULL one or checkpoint. Losing a NORMAL commit
        to power loss brings back a delivered entry (a duplicate) or a refusal (one more try):
        at least once holds."""
        if self._synchronous_full is not full:
            self._conn.execute(f"PRAGMA synchronous = {'FULL' if full else 'NORMAL'}")
            self._synchronous_full = full

    def _recover(self, cause: BaseException) -> bool:
        """After a failed transaction, the file is the truth: reload the ledger from it.
        False (and every later job fails) when even that fails."""
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self._backend.forget_saved()
            schema.load(self._conn, self._cid, self._ledger)
            return True
        except Exception as exc:
            self._broken = self._failure("cannot be read after a failed write", exc)
            self._broken.__context__ = cause
            return False

    def _fail(self, jobs: list[Job], cause: BaseException) -> int:
        """Each job gets an error of its own (each caller's raise adds its traceback)."""
        for job in jobs:
            job.result = None
            if isinstance(cause, OutboxError):
                job.error = OutboxError(str(cause))
                job.error.__cause__ = cause
            else:
                job.error = self._failure("cannot be written", cause)
        return 0

    def _failure(self, what: str, cause: BaseException) -> OutboxError:
        error = OutboxError(f"outbox file {str(self._path)!r} {what}: {cause}")
        error.__cause__ = cause
        return error


def _ignore(tally: Tally, transactions: int) -> None:
    """What a stopped worker reports to."""
