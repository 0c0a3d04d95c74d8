"""The live ids of an outbox and when each was stored, in order, in two arrays: 16 bytes an
entry, and nothing the garbage collector walks, so a 100,000-entry outbox adds neither
memory nor length to the event loop's collection pauses (a dict of tuples adds both)."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator

_COMPACT_AT = 1024
"""Slots before the head are reclaimed once there are this many and they are half."""


class Mirror:
    """Ids in increasing order with their stored_at. Removal at the head (delivery, expiry,
    drops) is O(1); elsewhere (rare) it is recorded in a small set and skipped."""

    def __init__(self, rows: Iterable[tuple[int, float]] = ()) -> None:
        self._ids = array("q")
        self._stored_at = array("d")
        self._start = 0
        """Index of the first slot not yet removed from the head."""
        self._gone: set[int] = set()
        """Ids removed behind the head, still in the arrays."""
        for entry_id, stored_at in rows:
            self.append(entry_id, stored_at)

    def __len__(self) -> int:
        return len(self._ids) - self._start - len(self._gone)

    def __contains__(self, entry_id: object) -> bool:
        return isinstance(entry_id, int) and self._index(entry_id) is not None

    def append(self, entry_id: int, stored_at: float) -> None:
        if self._ids and entry_id <= self._ids[-1]:
            raise ValueError(f"id {entry_id} does not follow {self._ids[-1]}")
        self._ids.append(entry_id)
        self._stored_at.append(stored_at)

    def head(self) -> tuple[int, float] | None:
        """The first live id and its stored_at."""
        self._skip_gone()
        if self._start == len(self._ids):
            return None
        return self._ids[self._start], self._stored_at[self._start]

    def last(self) -> int | None:
        return self._ids[-1] if self._ids else None

    def __iter__(self) -> Iterator[tuple[int, float]]:
        """Live (id, stored_at) from the head; do not change the mirror while iterating."""
        for index in range(self._start, len(self._ids)):
            entry_id = self._ids[index]
            if entry_id not in self._gone:
                yield entry_id, self._stored_at[index]

    def remove(self, entry_id: int) -> bool:
        """Forget a live id; False if it was not live."""
        index = self._index(entry_id)
        if index is None:
            return False
        if index == self._start:
            self._start += 1
            self._skip_gone()
            self._compact()
        else:
            self._gone.add(entry_id)
        return True

    def _index(self, entry_id: int) -> int | None:
        index = bisect_left(self._ids, entry_id, self._start)
        if index == len(self._ids) or self._ids[index] != entry_id or entry_id in self._gone:
            return None
        return index

    def _skip_gone(self) -> None:
        while self._gone and self._start < len(self._ids):
            head = self._ids[self._start]
            if head not in self._gone:
                return
            self._gone.discard(head)
            self._start += 1

    def _compact(self) -> None:
        if self._start >= _COMPACT_AT and self._start * 2 >= len(self._ids):
            del self._ids[: self._start]
            del self._stored_at[: self._start]
            self._start = 0
