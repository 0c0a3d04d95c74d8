"""The mirror of live ids against a plain ordered dict: the same answers whatever the order
of appends and removals (compaction included)."""

from __future__ import annotations

import gc
from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nm28_async.outbox.mirror import Mirror

# (True, _) appends the next id; (False, k) removes the k-th live id (mod the depth), or an
# id that is not live when the outbox is empty
operations = st.lists(st.tuples(st.booleans(), st.integers(0, 5000)), max_size=3000)


@settings(max_examples=60, deadline=None)
@given(operations, st.integers(0, 3))
def test_the_mirror_agrees_with_an_ordered_dict(ops: list[tuple[bool, int]], skew: int) -> None:
    mirror = Mirror()
    model: OrderedDict[int, float] = OrderedDict()
    next_id = 1
    for append, k in ops:
        if append:
            mirror.append(next_id, next_id / 10)
            model[next_id] = next_id / 10
            next_id += 1 + skew
        elif model:
            victim = list(model)[k % len(model) if k % 4 else 0]  # the head, often
            assert mirror.remove(victim) is True
            del model[victim]
            assert mirror.remove(victim) is False
        else:
            assert mirror.remove(k) is False
        assert len(mirror) == len(model)
        assert mirror.head() == next(iter(model.items()), None)
    assert list(mirror) == list(model.items())
    assert all(entry_id in mirror for entry_id in model)
    assert next_id + 1 not in mirror


def test_ids_must_increase() -> None:
    mirror = Mirror([(5, 1.0)])
    with pytest.raises(ValueError, match="does not follow"):
        mirror.append(5, 2.0)


def test_a_large_mirror_is_nothing_the_garbage_collector_walks() -> None:
    mirror = Mirror((i, float(i)) for i in range(1, 100_001))
    for column in (mirror._ids, mirror._stored_at):  # a collection visits none of the items
        assert len(gc.get_referents(column)) <= 1
    for i in range(1, 90_001):
        mirror.remove(i)
    assert len(mirror) == 10_000
    assert mirror.head() == (90_001, 90_001.0)
    assert len(mirror._ids) < 100_000  # the delivered head's slots were reclaimed
