"""cProfile of the driver's ingest: the functions that cost the most time of their own."""

from __future__ import annotations

import asyncio
import cProfile
import pstats
from pathlib import Path
from typing import Any

from . import ingest, wire
from .rig import ROOT, responder_pty


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    path = Path(filename)
    if path.is_absolute():
        try:
            filename = str(path.resolve().relative_to(ROOT))
        except ValueError:
            filename = "/".join(path.parts[-2:])
    return f"{filename}:{line}({name})" if line else name


def profile_ingest(count: int, size: int, top: int = 15) -> list[dict[str, Any]]:
    """Profile the consumer side of a driver ingest run; rows sorted by own time.

    `select.epoll.poll` and `posix.read` include time spent waiting for the producer.
    """
    profiler = cProfile.Profile()
    wire.stream_length(count, size)  # cached: keep the rig's bookkeeping out of the profile
    with responder_pty() as path:
        profiler.enable()
        asyncio.run(ingest.driver(path, count, size))
        profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    rows = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    return [
        {
            "function": _where(key),
            "ncalls": entry[1],
            "tottime_s": entry[2],
            "share": entry[2] / total,
            "cumtime_s": entry[3],
            "us_per_msg": entry[2] / count * 1e6,
        }
        for key, entry in rows
    ]
