"""Exponential backoff with jitter: every reconnection waits, so nothing that fails at once can
make a reconnect storm."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from ..protocol import commands


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter between reconnection attempts."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        commands.check_duration("backoff initial", self.initial)
        commands.check_duration("backoff maximum", self.maximum)
        if self.maximum < self.initial:
            raise ValueError(f"backoff maximum {self.maximum} is below initial {self.initial}")
        check_number("backoff factor", self.factor, 1.0, math.inf)
        check_number("backoff jitter", self.jitter, 0.0, 1.0)

    def delay(self, attempt: int) -> float:
        # the exponent is capped: factor**attempt overflows a float after ~1000 attempts
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return base * (1 + random.uniform(-self.jitter, self.jitter))


def check_number(name: str, value: float, low: float, high: float) -> None:
    """ValueError unless `value` is a number in [low, high)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {type(value).__name__}")
    if not low <= value < high:
        raise ValueError(f"{name} must be in [{low:g}, {high:g}), got {value}")
