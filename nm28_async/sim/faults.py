"""Faults a real module's port and network produce, for testing a host's robustness."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

NOISE_SAMPLES = (
    b'\r\n+CEREG: 1,"1A2B","01C2D3E4",13\r\n',
    b"\r\n+CGEV: ME PDN ACT 1\r\n",
    b"\x00\xff\xfe\x7f\r\n",
    b"\r\n+NM28TEMP: 41\r\n",
    b"\r\n\r\n",
)
"""Unknown URCs, binary junk and blank lines; each ends a line so it cannot split a frame."""


async def inject_noise(write: Callable[[bytes], None], interval: float) -> None:
    """Write one sample every ``interval`` seconds, forever."""
    for sample in itertools.cycle(NOISE_SAMPLES):
        await asyncio.sleep(interval)
        write(sample)


async def every(period: float, fault: Callable[[], Awaitable[None]]) -> None:
    """Inject ``fault`` every ``period`` seconds, forever (a link dropped, a reboot)."""
    while True:
        await asyncio.sleep(period)
        await fault()


async def coverage_outages(
    interval: float, duration: float, set_coverage: Callable[[bool], None]
) -> None:
    """Lose coverage every ``interval`` seconds for ``duration`` seconds, forever (a train
    through a tunnel): the registration URCs, dropped links and failing OPENs that brings."""
    while True:
        await asyncio.sleep(interval)
        set_coverage(False)
        await asyncio.sleep(duration)
        set_coverage(True)
