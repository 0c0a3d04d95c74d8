"""Feeding a parser in every chunking: the invariant every parser test relies on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

from nm28_async.protocol.events import Event, Final, FinalKind
from nm28_async.protocol.parser import MAX_LINE, Parser

LengthModes = dict[int, bool | None]
OK = Final(FinalKind.OK)
ERROR = Final(FinalKind.ERROR)


def new_parser(modes: LengthModes | None = None) -> Parser:
    """A parser with the given per-client length-field settings."""
    parser = Parser()
    for index, enabled in (modes or {}).items():
        parser.set_length_field(index, enabled)
    return parser


def feed_chunks(chunks: Iterable[bytes], modes: LengthModes | None = None) -> list[Event]:
    """Feed the chunks in order to one parser and collect every event."""
    parser = new_parser(modes)
    events: list[Event] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events


def split_at(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """Cut `data` at the given (sorted) offsets."""
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in pairwise(bounds)]


def assert_chunking_invariant(data: bytes, modes: LengthModes | None = None) -> list[Event]:
    """Whole feed, every two-chunk split and byte-at-a-time feed give the same events."""
    expected = feed_chunks([data], modes)
    if len(data) <= 6000:
        splits: Iterable[int] = range(len(data) + 1)
        sizes: Iterable[int] = (1, 2, 3, 7)
    else:  # large inputs: a sample of split points and chunk sizes keeps the suite fast
        splits = sorted({*range(0, len(data) + 1, 997), *range(MAX_LINE - 3, MAX_LINE + 4)})
        sizes = (5, 61, 1000, 4096)
    for cut in splits:
        if cut <= len(data):
            assert feed_chunks([data[:cut], data[cut:]], modes) == expected, f"split at {cut}"
    for size in sizes:
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        assert feed_chunks(chunks, modes) == expected, f"chunks of {size}"
    return expected
