"""The rules both stores share, run on each: order, expiry, refusals and dead letters,
overflow both ways, stats, and arguments checked before anything is stored."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from outbox_fixtures import KINDS, FakeClock, drain, open_and_close, opened

from nm28_async import OutboxError, OutboxFullError, Overflow
from nm28_async.outbox import OutboxStats, Policy

pytestmark = pytest.mark.parametrize("kind", KINDS)


@pytest.mark.asyncio
async def test_entries_come_out_in_the_order_they_were_stored(kind: str, tmp_path: Path) -> None:
    async with opened(kind, tmp_path) as store:
        ids = [await store.enqueue("t/a", f"m{i}".encode(), qos=i % 2) for i in range(20)]
        assert ids == sorted(ids)
        assert len(set(ids)) == 20
        entries = await drain(store)
        assert [e.id for e in entries] == ids
        assert [e.payload for e in entries] == [f"m{i}".encode() for i in range(20)]
        assert [e.qos for e in entries] == [i % 2 for i in range(20)]
        assert await store.peek() is None


@pytest.mark.asyncio
async def test_an_entry_keeps_what_was_enqueued(kind: str, tmp_path: Path) -> None:
    clock = FakeClock()
    async with opened(kind, tmp_path, clock=clock) as store:
        entry_id = await store.enqueue("gw/up", '{"t":21.5}', qos=1, retain=True)
        entry = await store.peek()
        assert entry is not None
        assert (entry.id, entry.topic, entry.payload) == (entry_id, "gw/up", b'{"t":21.5}')
        assert (entry.qos, entry.retain, entry.stored_at, entry.attempts) == (
            1, True, clock.now, 0,
        )  # fmt: skip
        assert "21.5" not in repr(entry)  # payloads stay out of logs


@pytest.mark.asyncio
async def test_ids_are_never_reused(kind: str, tmp_path: Path) -> None:
    async with opened(kind, tmp_path) as store:
        first = await store.enqueue("t", b"x")
        await drain(store)
        assert await store.enqueue("t", b"y") == first + 1
        assert store.last_id == first + 1


@pytest.mark.asyncio
async def test_entries_older_than_max_age_expire_unsent(kind: str, tmp_path: Path) -> None:
    clock = FakeClock()
    async with opened(kind, tmp_path, max_age=60, clock=clock) as store:
        old = [await store.enqueue("t", b"old") for _ in range(3)]
        clock.now += 30
        young = await store.enqueue("t", b"young")
        clock.now += 31  # the first three are 61 s old, the last 31 s
        assert store.stats.depth == 4  # expiry happens at the next operation
        entry = await store.peek()
        assert entry is not None
        assert entry.id == young
        assert store.stats == OutboxStats(1, 31.0, 0, 3, 0, 0)
        assert young not in old
        clock.now += 30
        assert await store.expire() == 1
        assert store.stats == OutboxStats(0, None, 0, 4, 0, 0)


@pytest.mark.asyncio
async def test_refusals_are_bounded_then_the_entry_is_a_dead_letter(
    kind: str, tmp_path: Path
) -> None:
    async with opened(kind, tmp_path, max_refusals=3) as store:
        bad = await store.enqueue("t/bad", b"x")
        good = await store.enqueue("t/good", b"y")
        assert [await store.refused(bad) for _ in range(3)] == [False, False, True]
        head = await store.peek()
        assert head is not None
        assert head.id == good
        dead = await store.dead_letters()
        assert [(e.id, e.topic, e.attempts) for e in dead] == [(bad, "t/bad", 3)]
        assert store.stats.dead == 1
        assert store.stats.depth == 1
        assert await store.refused(bad) is False  # no longer live: nothing happens
        assert store.stats.dead == 1


@pytest.mark.asyncio
async def test_a_refusal_shows_in_the_entry_attempts(kind: str, tmp_path: Path) -> None:
    async with opened(kind, tmp_path, max_refusals=5) as store:
        entry_id = await store.enqueue("t", b"x")
        await store.refused(entry_id)
        await store.refused(entry_id)
        entry = await store.peek()
        assert entry is not None
        assert entry.attempts == 2


@pytest.mark.asyncio
async def test_dead_letters_are_kept_up_to_the_size(kind: str, tmp_path: Path) -> None:
    async with opened(kind, tmp_path, size=3, max_refusals=1) as store:
        ids = []
        for i in range(5):
            ids.append(await store.enqueue("t", bytes([i + 1])))
            assert await store.refused(ids[-1]) is True
        assert [e.id for e in await store.dead_letters()] == ids[-3:]
        assert store.stats.dead == 5


@pytest.mark.asyncio
async def test_drop_oldest_makes_room_and_counts(kind: str, tmp_path: Path) -> None:
    async with opened(kind, tmp_path, size=3, overflow=Overflow.DROP_OLDEST) as store:
        ids = [await store.enqueue("t", bytes([i + 1])) for i in range(5)]
        assert store.stats.depth == 3
        assert store.stats.dropped == 2
        assert [e.id for e in await drain(store)] == ids[2:]


@pytest.mark.asyncio
async def test_fail_raises_outbox_full_and_stores_nothing(kind: str, tmp_path: Path) -> None:
    async with opened(kind, tmp_path, size=2, overflow=Overflow.FAIL) as store:
        ids = [await store.enqueue("t", b"a"), await store.enqueue("t", b"b")]
        with pytest.raises(OutboxFullError):
            await store.enqueue("t", b"c")
        assert isinstance(OutboxFullError(), OutboxError)
        assert store.stats.depth == 2
        assert store.stats.dropped == 0
        assert store.last_id == ids[-1]  # no id was spent on the refused message
        await store.delivered(ids[0])
        assert await store.enqueue("t", b"c") == ids[-1] + 1  # room again


@pytest.mark.asyncio
async def test_expired_entries_make_room_before_any_drop(kind: str, tmp_path: Path) -> None:
    clock = FakeClock()
    async with opened(kind, tmp_path, size=2, max_age=10, clock=clock) as store:
        await store.enqueue("t", b"a")
        await store.enqueue("t", b"b")
        clock.now += 11
        await store.enqueue("t", b"c")
        assert (store.stats.expired, store.stats.dropped, store.stats.depth) == (2, 0, 1)


@pytest.mark.asyncio
async def test_stats_count_where_entries_went(kind: str, tmp_path: Path) -> None:
    clock = FakeClock()
    async with opened(kind, tmp_path, clock=clock, max_refusals=1) as store:
        assert store.stats == OutboxStats(0, None, 0, 0, 0, 0)
        a = await store.enqueue("t", b"a")
        clock.now += 5
        b = await store.enqueue("t", b"b")
        await store.enqueue("t", b"c")
        clock.now += 2
        assert store.stats == OutboxStats(3, 7.0, 0, 0, 0, 0)
        assert await store.delivered(a) is True
        assert await store.delivered(a) is False  # counted once
        await store.refused(b)
        assert store.stats == OutboxStats(1, 2.0, 1, 0, 0, 1)


INVALID: list[dict[str, Any]] = [
    {"topic": ""},
    {"topic": "a/+/b"},
    {"topic": "a/#"},
    {"topic": 'quote"d'},
    {"topic": "ctl\r\nAT"},
    {"topic": 7},
    {"payload": b""},
    {"payload": b"x" * 2049},
    {"payload": 12},
    {"qos": 3},
    {"qos": -1},
    {"qos": True},
    {"qos": 1.0},
    {"retain": 1},
    {"retain": None},
]


@pytest.mark.asyncio
@pytest.mark.parametrize("bad", INVALID, ids=repr)
async def test_invalid_arguments_raise_value_error_and_store_nothing(
    kind: str, tmp_path: Path, bad: dict[str, Any]
) -> None:
    arguments: dict[str, Any] = {"topic": "ok/t", "payload": b"p", "qos": 0, "retain": False}
    async with opened(kind, tmp_path) as store:
        with pytest.raises(ValueError):  # noqa: PT011 (the encoders' messages vary)
            await store.enqueue(**{**arguments, **bad})
        assert store.stats.depth == 0
        assert store.last_id == 0
        assert await store.peek() is None


@pytest.mark.asyncio
async def test_a_closed_store_raises_outbox_error(kind: str, tmp_path: Path) -> None:
    async with opened(kind, tmp_path) as store:
        await store.enqueue("t", b"x")
    with pytest.raises(OutboxError, match="closed"):
        await store.enqueue("t", b"y")
    await store.close()  # twice is fine


POLICIES: list[dict[str, Any]] = [
    {"size": 0},
    {"size": 1.5},
    {"size": True},
    {"overflow": "drop_oldest"},
    {"max_age": 0},
    {"max_age": -1},
    {"max_age": math.inf},
    {"max_age": math.nan},
    {"max_refusals": 0},
]


@pytest.mark.asyncio
@pytest.mark.parametrize("bad", POLICIES, ids=repr)
async def test_bad_policies_raise_value_error(
    kind: str, tmp_path: Path, bad: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        Policy(**bad)
    with pytest.raises(ValueError):  # noqa: PT011
        await open_and_close(kind, tmp_path, **bad)
    assert not (tmp_path / "outbox.sqlite").exists()


@pytest.mark.asyncio
async def test_drop_newest_is_refused_with_the_reason(kind: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"after enqueue accepted it.*Overflow\.FAIL"):
        await open_and_close(kind, tmp_path, overflow=Overflow.DROP_NEWEST)
