"""The sqlite store: group commit, reopening, several client ids in one file, and the files
and disks it refuses (named in the error, left unchanged)."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import cast

import anyio
import pytest
from outbox_fixtures import FakeClock, drain

from nm28_async import Nm28Error, OutboxError
from nm28_async.outbox import OutboxStats, SqliteStore
from nm28_async.outbox.keeper import Keeper
from nm28_async.outbox.sqlite_backend import SqliteBackend
from nm28_async.outbox.store import Kind


@pytest.mark.asyncio
async def test_concurrent_enqueues_share_transactions(tmp_path: Path) -> None:
    count = 300
    ids: list[int] = []

    async def one() -> None:
        ids.append(await store.enqueue("t", b"x" * 64, qos=1))

    async with await SqliteStore.open(tmp_path / "o.sqlite", "c") as store:
        before = store.transactions
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(count):
                    tg.start_soon(one)
        grouped = store.transactions - before
        assert sorted(ids) == list(range(1, count + 1))
        assert 1 <= grouped < count // 2
        assert store.stats.depth == count


@pytest.mark.asyncio
async def test_no_sqlite_work_runs_on_the_event_loop_thread(tmp_path: Path) -> None:
    seen: set[int] = set()

    def trace(_: str) -> None:
        seen.add(threading.get_ident())

    def traced(keeper: Keeper) -> None:
        cast(SqliteBackend, keeper.backend)._conn.set_trace_callback(trace)

    async with await SqliteStore.open(tmp_path / "o.sqlite", "c") as store:
        await store._run(Kind.LIGHT, traced)
        await store.enqueue("t", b"x")
        await store.peek()
        await store.delivered(1)
    assert seen
    assert threading.get_ident() not in seen


@pytest.mark.asyncio
async def test_a_reopened_file_resumes_in_order_with_its_counters(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    clock = FakeClock()
    async with await SqliteStore.open(path, "gw-1", clock=clock, max_refusals=1) as store:
        ids = [await store.enqueue("t", f"{i}".encode()) for i in range(10)]
        await store.delivered(ids[0])
        await store.refused(ids[1])
        await store.refused(ids[2])  # not the head: a refusal is per entry
    clock.now += 4
    async with await SqliteStore.open(path, "gw-1", clock=clock) as store:
        assert store.stats == OutboxStats(7, 4.0, 1, 0, 0, 2)
        assert [e.id for e in await store.dead_letters()] == ids[1:3]
        assert [e.id for e in await drain(store)] == ids[3:]
        assert await store.enqueue("t", b"next") == ids[-1] + 1
    async with await SqliteStore.open(path, "gw-1") as store:
        assert store.last_id == ids[-1] + 1  # kept although every entry was delivered
        assert await store.enqueue("t", b"after") == ids[-1] + 2


@pytest.mark.asyncio
async def test_one_file_holds_several_client_ids(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    async with (
        await SqliteStore.open(path, "gw-1") as one,
        await SqliteStore.open(path, "gw-2") as two,
    ):
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for i in range(20):
                    tg.start_soon(one.enqueue, "one", f"{i}".encode())
                    tg.start_soon(two.enqueue, "two", f"{i}".encode())
        await one.enqueue("one", b"last")
        assert (one.stats.depth, two.stats.depth) == (21, 20)
        assert [e.id for e in await drain(two)] == list(range(1, 21))
    async with (
        await SqliteStore.open(path, "gw-1") as one,
        await SqliteStore.open(path, "gw-2") as two,
    ):
        assert (one.stats.depth, two.stats.depth, two.stats.delivered) == (21, 0, 20)
        entries = await drain(one)
        assert {e.topic for e in entries} == {"one"}
        assert entries[-1].payload == b"last"


@pytest.mark.asyncio
async def test_one_client_id_is_open_once_per_process(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    async with await SqliteStore.open(path, "c"):
        with pytest.raises(OutboxError, match="already open"):
            await SqliteStore.open(tmp_path / "." / "o.sqlite", "c")
    async with await SqliteStore.open(path, "c"):
        pass  # closing released it


@pytest.mark.asyncio
@pytest.mark.parametrize("client_id", ["", 7, None])
async def test_a_client_id_is_a_non_empty_string(tmp_path: Path, client_id: object) -> None:
    with pytest.raises(ValueError, match="client_id"):
        await SqliteStore.open(tmp_path / "o.sqlite", client_id)  # type: ignore[arg-type]
    assert not (tmp_path / "o.sqlite").exists()


# --- files it refuses ------------------------------------------------------------------


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


async def _refused(path: Path, match: str) -> OutboxError:
    with pytest.raises(OutboxError, match=match) as caught:
        await SqliteStore.open(path, "c")
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, Nm28Error)
    return caught.value


@pytest.mark.asyncio
async def test_a_file_that_is_not_sqlite_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"this is not a database\n" * 200)
    before = _snapshot(tmp_path)
    error = await _refused(path, "not a readable outbox")
    assert isinstance(error.__cause__, sqlite3.DatabaseError)
    assert _snapshot(tmp_path) == before


@pytest.mark.asyncio
async def test_a_corrupt_outbox_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    async with await SqliteStore.open(path, "c") as store:
        for i in range(200):
            await store.enqueue("t", bytes([i % 250 + 1]) * 500)
    data = bytearray(path.read_bytes())
    page = 4096
    data[page:] = b"\xa5" * (len(data) - page)  # every page after the header page
    path.write_bytes(bytes(data))
    before = _snapshot(tmp_path)
    await _refused(path, "outbox")
    assert _snapshot(tmp_path) == before


@pytest.mark.asyncio
async def test_an_sqlite_file_of_another_application_is_refused_unchanged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE readings (t REAL)")
        conn.execute("INSERT INTO readings VALUES (21.5)")
    conn.close()
    before = _snapshot(tmp_path)
    await _refused(path, "another application")
    assert _snapshot(tmp_path) == before


@pytest.mark.asyncio
async def test_an_outbox_of_a_newer_schema_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    async with await SqliteStore.open(path, "c") as store:
        await store.enqueue("t", b"x")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = _snapshot(tmp_path)
    await _refused(path, "schema version 99")
    assert _snapshot(tmp_path) == before


@pytest.mark.asyncio
async def test_a_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.d"
    path.mkdir()
    (path / "keep").write_bytes(b"k")
    await _refused(path, "directory")
    assert (path / "keep").read_bytes() == b"k"


@pytest.mark.asyncio
async def test_a_path_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    await _refused(tmp_path / "missing" / "o.sqlite", "cannot be opened|not a readable")


@pytest.mark.asyncio
@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
async def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    async with await SqliteStore.open(path, "c"):
        pass
    path.chmod(0)
    await _refused(path, "outbox")


# --- a full disk -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_full_disk_fails_enqueue_and_keeps_what_was_stored(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    stored: list[int] = []
    async with await SqliteStore.open(path, "c") as store:
        stored += [await store.enqueue("t", b"early" * 100) for _ in range(5)]
        await store.limit_pages(1)  # the cap is the file's size: no page may be added

        async def fill() -> None:
            for _ in range(1000):
                stored.append(await store.enqueue("t", b"x" * 2048))

        with pytest.raises(OutboxError, match="full") as caught:
            await fill()
        assert str(path) in str(caught.value)
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        assert store.stats.depth == len(stored)
        failures: list[OutboxError] = []

        async def one() -> None:  # a group of enqueues on a full disk: each fails alone
            try:
                stored.append(await store.enqueue("t", b"y" * 2048))
            except OutboxError as exc:
                failures.append(exc)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(one)
        assert failures
        assert len(failures) + len(stored) >= 20
        assert store.stats.depth == len(stored)
        head = await store.peek()  # reading and delivering still work
        assert head is not None
        assert head.id == stored[0]
        await store.delivered(head.id)
        delivered = stored.pop(0)
    async with await SqliteStore.open(path, "c") as store:
        assert [e.id for e in await drain(store)] == stored
        assert store.stats.delivered == 1 + len(stored)
        assert delivered not in stored
