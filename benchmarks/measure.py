"""Wall-clock and process-CPU timing, and the figures derived from them."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Sample:
    """`count` items (`nbytes` wire bytes) handled in `wall` seconds using `cpu` CPU seconds."""

    count: int
    nbytes: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.count / self.wall

    @property
    def mb_per_s(self) -> float:
        return self.nbytes / self.wall / 1e6

    @property
    def cpu_us(self) -> float:
        """Process CPU microseconds per item."""
        return self.cpu / self.count * 1e6

    def figures(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rate": self.rate,
            "mb_per_s": self.mb_per_s,
            "cpu_us_per_item": self.cpu_us,
        }


class Stopwatch:
    """Start it, then `stop(count, nbytes)` returns a Sample of what happened in between."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def stop(self, count: int, nbytes: int = 0) -> Sample:
        return Sample(
            count, nbytes, time.perf_counter() - self._wall, time.process_time() - self._cpu
        )


def best(samples: list[Sample]) -> Sample:
    """The fastest of repeated runs (least disturbed by the rest of the machine)."""
    return min(samples, key=lambda s: s.wall)
