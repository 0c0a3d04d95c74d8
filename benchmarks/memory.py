"""Benchmark 5: memory held by queued messages, measured in a fresh process.

`python -m benchmarks.memory COUNT SIZE` buffers COUNT messages of SIZE bytes on client 0
(nobody consumes them) twice: once for RSS (psutil, and the kernel's peak), once under
tracemalloc for the bytes each queued message holds. It prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import anyio
import psutil

import nm28_async as nm

from . import wire
from .rig import ROOT, responder_pty


async def _buffer(path: str, count: int, size: int, probe: Callable[[], int]) -> tuple[int, int]:
    """Fill client 0's queue with `count` messages; `probe()` before and after."""
    with anyio.fail_after(60):
        async with nm.Modem.open(path, queue_size=count) as modem:
            await modem.command(wire.prepare_line(count, size, clients=1))
            before = probe()
            await modem.command(wire.STREAM_LINE)
            client = modem.client(0)
            while client.queued_messages < count:  # noqa: ASYNC110 (no queue-depth event)
                await asyncio.sleep(0.005)
            return before, probe()


def _peak_rss() -> int:
    """The kernel's high-water RSS of this process image (VmHWM; ru_maxrss survives exec)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _rss() -> int:
    return int(psutil.Process().memory_info().rss)


def _traced() -> int:
    return tracemalloc.get_traced_memory()[0]


async def _measure(path: str, count: int, size: int) -> dict[str, Any]:
    rss_before, rss_after = await _buffer(path, count, size, _rss)
    peak = _peak_rss()
    tracemalloc.start()
    traced_before, traced_after = await _buffer(path, count, size, _traced)
    tracemalloc.stop()
    per_message = (traced_after - traced_before) / count
    return {
        "messages": count,
        "payload_bytes": size,
        "rss_before_mb": rss_before / 1e6,
        "rss_after_mb": rss_after / 1e6,
        "rss_peak_mb": max(peak, rss_after) / 1e6,
        "rss_per_message_bytes": (rss_after - rss_before) / count,
        "traced_per_message_bytes": per_message,
        "overhead_per_message_bytes": per_message - size,
    }


def measure(count: int, size: int) -> dict[str, Any]:
    """Run the measurement in a fresh interpreter (a clean RSS) and return its figures."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", str(count), str(size)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> None:
    count, size = int(sys.argv[1]), int(sys.argv[2])
    with responder_pty() as path:
        print(json.dumps(asyncio.run(_measure(path, count, size))))


if __name__ == "__main__":
    main()
