"""Timing, and the method every figure follows: variants interleaved round by round,
medians with their min-max band, ratios of medians.

A round runs each variant once, in the order given (the driver first, then its baselines),
so a slow spell on a shared machine hits every variant of that round rather than one
variant's whole series. `summary` keeps every round; `compare` divides medians and gives
the band of the ratios taken round by round (each pair ran back to back).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Sample:
    """`count` items (`nbytes` wire bytes) handled in `wall` seconds using `cpu` CPU seconds
    (process CPU time of the consumer: every thread of this process)."""

    count: int
    nbytes: int
    wall: float
    cpu: float

    def figures(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rate": self.count / self.wall,
            "mb_per_s": self.nbytes / self.wall / 1e6,
            "cpu_us_per_item": self.cpu / self.count * 1e6,
            "cpu_share": self.cpu / self.wall,
        }


FIGURES = ("rate", "mb_per_s", "cpu_us_per_item", "cpu_share")
"""The figures `summary` gives a median and a band for."""


class Stopwatch:
    """Start it, then `stop(count, nbytes)` returns a Sample of what happened in between."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def stop(self, count: int, nbytes: int = 0) -> Sample:
        return Sample(
            count, nbytes, time.perf_counter() - self._wall, time.process_time() - self._cpu
        )


Run = Callable[[], Awaitable[Sample]]


async def interleave(rounds: int, variants: Mapping[str, Run]) -> dict[str, dict[str, Any]]:
    """Run every variant once per round, `rounds` times; a summary per variant."""
    samples: dict[str, list[Sample]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            samples[name].append(await run())
    return {name: summary(runs) for name, runs in samples.items()}


def summary(samples: list[Sample]) -> dict[str, Any]:
    """Every round's figures, and the median and min-max band of each of `FIGURES`."""
    rounds = [sample.figures() for sample in samples]
    series = {name: [r[name] for r in rounds] for name in FIGURES}
    return {
        "rounds": rounds,
        "median": {name: statistics.median(values) for name, values in series.items()},
        "band": {name: [min(values), max(values)] for name, values in series.items()},
    }


def compare(num: dict[str, Any], den: dict[str, Any], figure: str = "rate") -> dict[str, Any]:
    """`figure` of one variant over another's: the ratio of the medians, and the min-max band
    of the ratios of the rounds (round i of `num` ran beside round i of `den`)."""
    paired = [a[figure] / b[figure] for a, b in zip(num["rounds"], den["rounds"], strict=True)]
    return {
        "figure": figure,
        "ratio": num["median"][figure] / den["median"][figure],
        "band": [min(paired), max(paired)],
        "rounds": paired,
    }
