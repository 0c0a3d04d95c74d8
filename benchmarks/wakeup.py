"""What a wake-up costs the code that runs after it: `python -m benchmarks.wakeup`.

The same work (the driver's parser on 38 frames of 256 B, about 11 KiB: what one rested read
brings at 2 MB/s) timed back to back, and right after sleeps as long as the gaps between a
paced stream's reads. On a machine whose core idles in the gap (a VM's vCPU above all), the
caches are cold when the process wakes, and the same work takes longer: this is the part of
a deployment's CPU share that no change to the work itself removes.
"""

from __future__ import annotations

import statistics
import time

from nm28_async.protocol.parser import Parser

from . import wire

GAPS = (0.0, 0.0005, 0.002, 0.006)
"""Seconds slept before each run: none, and the read gaps of streams from fast to 2 MB/s."""
RUNS = 300


def measure(frames: int = 38, size: int = 256) -> dict[float, float]:
    """Median µs the parse takes after each gap."""
    data = wire.stream(frames, size)
    parser = Parser()
    medians: dict[float, float] = {}
    for gap in GAPS:
        took: list[float] = []
        for _ in range(RUNS):
            if gap:
                time.sleep(gap)
            started = time.perf_counter()
            parser.feed(data)
            took.append(time.perf_counter() - started)
        medians[gap] = statistics.median(took) * 1e6
    return medians


def main() -> None:
    medians = measure()
    base = medians[0.0]
    print("sleep before the work   parse of 38 frames (median)   vs back to back")
    for gap, us in medians.items():
        print(f"{gap * 1000:>8.1f} ms {us:>22.1f} µs {us / base:>20.2f}x")


if __name__ == "__main__":
    main()
