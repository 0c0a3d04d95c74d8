"""Read pacing: how long the port may rest between reads of a message stream."""

from __future__ import annotations

COALESCE_BYTES = 12 * 1024
"""What a rest lets gather: under what a pty holds before its writer must wait (20 KiB)."""
MIN_REST = 0.001


class ReadPacer:
    """Lets the port rest until about COALESCE_BYTES gather at the rate the stream shows, at
    most `coalescing` seconds: a paced line is read in fewer, larger pieces, and a flood,
    which would fill the kernel's buffer meanwhile, is read as fast as it comes."""

    def __init__(self, coalescing: float, now: float) -> None:
        self.coalescing = coalescing
        self._last_read_at = now

    def rest_after(self, size: int, now: float) -> float | None:
        """Seconds to rest after a read of `size` bytes at `now` (None: read on at once)."""
        elapsed = now - self._last_read_at
        self._last_read_at = now
        if size >= COALESCE_BYTES or elapsed > 2 * self.coalescing:
            # The kernel's buffer may have filled meanwhile, or this is the first read of a
            # stream (whose pace is not known yet): read as it comes.
            return None
        rest = min(self.coalescing, COALESCE_BYTES * elapsed / size)
        return rest if rest >= MIN_REST else None
