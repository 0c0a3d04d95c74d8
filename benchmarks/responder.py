"""A scripted, instant NM28 stand-in on a pty master, run as its own process.

`python -m benchmarks.responder FD` serves the pty master `FD` until its stdin closes. It
echoes nothing and answers every command line with OK, except the bench-only commands of
`benchmarks.wire` and `AT+MQTTPUBEX`, which it answers like the module (CONNECT, payload,
OK and a result line whose delay and order `AT+ACKCFG` sets). Output leaves as fast as the
pty drains, or, for a stream prepared with a rate (`AT+PREP`'s fourth field, bytes/s),
paced like a line: every `PACE_SLICE` s the bytes the line carried in that time, catching
up at once after a late wake-up so that the mean rate holds.
"""

from __future__ import annotations

import heapq
import os
import select
import sys
import time
from collections import deque
from dataclasses import dataclass, field

from . import wire

PACE_SLICE = 0.002
"""Seconds of line time per paced write."""


@dataclass
class _Chunk:
    data: memoryview
    rate: float = 0.0
    sent: int = 0
    started: float = 0.0


@dataclass
class Responder:
    fd: int
    ack_latency: float = 0.0
    result_after_ok: bool = True
    prepared: bytes = b""
    rate: float = 0.0
    _input: bytearray = field(default_factory=bytearray)
    _payload_left: int = 0
    _pending_result: bytes = b""
    _out: deque[_Chunk] = field(default_factory=deque)
    _timers: list[tuple[float, int, bytes]] = field(default_factory=list)
    _seq: int = 0

    def serve(self, control: int) -> None:
        """Run until `control` (our stdin) reaches end of file."""
        os.set_blocking(self.fd, False)
        while True:
            now = time.monotonic()
            self._fire_timers(now)
            timeout = self._timeout(now)
            writers = [self.fd] if self._out and timeout == 0.0 else []
            readable, writable, _ = select.select(
                [self.fd, control], writers, [], None if timeout is None else max(timeout, 0.0)
            )
            if control in readable and not os.read(control, 4096):
                return
            if self.fd in readable:
                self._receive()
            if writable:
                self._send()

    def _timeout(self, now: float) -> float | None:
        """0.0 when output may be written now; else seconds until something is due."""
        due: list[float] = [self._timers[0][0]] if self._timers else []
        if self._out:
            head = self._out[0]
            if not head.rate or not head.started:
                return 0.0
            ready_at = head.started + (head.sent + self._slice(head)) / head.rate
            if ready_at <= now:
                return 0.0
            due.append(ready_at)
        return min(due) - now if due else None

    @staticmethod
    def _slice(chunk: _Chunk) -> int:
        return max(1, int(chunk.rate * PACE_SLICE))

    def _send(self) -> None:
        while self._out:
            head = self._out[0]
            limit = len(head.data) - head.sent
            if head.rate:
                if not head.started:
                    head.started = time.monotonic()
                allowed = int((time.monotonic() - head.started) * head.rate) - head.sent
                limit = min(limit, max(allowed, 0), self._slice(head))
                if limit <= 0:
                    return
            try:
                written = os.write(self.fd, head.data[head.sent : head.sent + limit])
            except BlockingIOError:
                return
            head.sent += written
            if head.sent < len(head.data):
                return
            self._out.popleft()

    def _emit(self, data: bytes, rate: float = 0.0) -> None:
        self._out.append(_Chunk(memoryview(data), rate))

    def _later(self, delay: float, data: bytes) -> None:
        if delay <= 0:
            self._emit(data)
            return
        self._seq += 1
        heapq.heappush(self._timers, (time.monotonic() + delay, self._seq, data))

    def _fire_timers(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            self._emit(heapq.heappop(self._timers)[2])

    def _receive(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except (BlockingIOError, OSError):
            return
        buf = self._input
        buf += data
        while buf:
            if self._payload_left:
                taken = min(self._payload_left, len(buf))
                del buf[:taken]
                self._payload_left -= taken
                if not self._payload_left:
                    self._acknowledge()
                continue
            end = min((i for i in (buf.find(b"\r"), buf.find(b"\n")) if i >= 0), default=-1)
            if end < 0:
                return
            line = bytes(buf[:end]).lstrip(b"\x1a \r\n")
            del buf[: end + 1]
            if line:
                self._command(line.decode("ascii", "replace"))

    def _command(self, line: str) -> None:
        name, _, args = line.partition("=")
        fields = args.split(",")
        if name == "AT+MQTTPUBEX":
            self._pending_result = wire.pubex_result(int(fields[0]), int(fields[1]))
            self._payload_left = int(fields[-1])
            self._emit(wire.CONNECT)
            return
        if name == "AT+PREP":
            count, size, clients = (int(f) for f in fields[:3])
            self.prepared = wire.stream(count, size, clients)
            self.rate = float(fields[3])
        elif name == "AT+ACKCFG":
            self.ack_latency = float(fields[0]) / 1000
            self.result_after_ok = fields[1] == "1"
        self._emit(wire.OK)
        if name == wire.STREAM_LINE:
            self._emit(self.prepared, self.rate)

    def _acknowledge(self) -> None:
        result, self._pending_result = self._pending_result, b""
        if self.result_after_ok:
            self._emit(wire.OK)
            self._later(self.ack_latency, result)
        else:
            self._later(self.ack_latency, result + wire.OK)


def main() -> None:
    Responder(int(sys.argv[1])).serve(sys.stdin.fileno())


if __name__ == "__main__":
    main()
