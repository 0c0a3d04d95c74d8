"""The virtual NM28 (`nm28 sim --pty`) in its own process, and bare AT for its baselines.

Benchmarks 3 and 4 run against the sim: real MQTT clients inside it, an embedded amqtt
broker, `+MQTTPUBEX` results after (or before) `OK` with a set acknowledgement latency,
and output paced like an 8N1 UART. The sim's knobs are fixed when it starts, so each
configuration gets its own sim process (it starts in about 0.2 s).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from .bare import Streams
from .rig import ROOT, end_by_eof, reap

START_TIMEOUT = 20.0


@dataclass(frozen=True)
class Sim:
    """Where a running sim listens: the pty the driver opens and the broker it routes to."""

    path: str
    host: str
    port: int


@contextmanager
def sim_process(
    *, network_latency: float = 0.0, result_after_ok: bool = True, baudrate: int | None = None
) -> Iterator[Sim]:
    """Start `nm28 sim --pty` (embedded broker) in a child process; SIGTERM it on exit."""
    args = [sys.executable, "-m", "nm28_async.cli", "sim", "--pty", "--network-latency",
            f"{network_latency:g}"]
    if result_after_ok:
        args.append("--result-after-ok")
    if baudrate is not None:
        args += ["--baudrate", str(baudrate)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(START_TIMEOUT, proc.kill)  # a hung start: readline sees EOF
    watchdog.start()
    try:
        assert proc.stdout is not None
        broker = path = ""
        while not (broker and path):
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"nm28 sim did not start (exit code {proc.wait()})")
            if line.startswith("broker "):
                broker = line.split()[1]
            elif line.startswith("listening on "):
                path = line.split()[-1]
        watchdog.cancel()
        parts = urlsplit(broker)
        yield Sim(path, parts.hostname or "127.0.0.1", parts.port or 1883)
    finally:
        watchdog.cancel()
        proc.send_signal(signal.SIGTERM)
        reap(proc)
        if proc.stdout is not None:
            proc.stdout.close()


class BareAt:
    """A line reader over the sim's pty with no driver: the baselines' own AT handling.

    `expect(prefix)` returns the next line starting with `prefix`; other lines are
    kept for later `expect`s. No URC dispatch, no queues, no parsing beyond `startswith`.
    """

    def __init__(self, streams: Streams) -> None:
        self.reader, self.writer = streams
        self._held: list[bytes] = []

    async def line(self) -> bytes:
        while True:
            line = (await self.reader.readuntil(b"\r\n"))[:-2]
            if line:
                return line

    async def expect(self, prefix: bytes) -> bytes:
        for i, held in enumerate(self._held):
            if held.startswith(prefix):
                return self._held.pop(i)
        while True:
            line = await self.line()
            if line.startswith(prefix):
                return line
            if not line.startswith(b"AT"):  # an echo before ATE0 took effect
                self._held.append(line)

    async def command(self, line: str, result: bytes | None = None) -> bytes | None:
        """Send `line`, wait for OK (and for the line starting with `result`, if given)."""
        self.writer.write(line.encode() + b"\r")
        await self.expect(b"OK")
        return None if result is None else await self.expect(result)

    async def connect(self, index: int, sim: Sim) -> None:
        """Echo off, then `AT+MQTTOPEN` and `AT+MQTTCONN` for client `index`."""
        await self.command("ATE0")
        await self.command(f'AT+MQTTOPEN={index},"{sim.host}",{sim.port}',
                           f"+MQTTOPEN:{index},0".encode())
        await self.command(f'AT+MQTTCONN={index},"bare{index}","",""',
                           f"+MQTTCONN:{index},0".encode())

    async def subscribe(self, index: int, topic: str) -> None:
        await self.command(f'AT+MQTTSUB={index},1,"{topic}",0', f"+MQTTSUB:{index},1,0".encode())


@contextmanager
def flooding(sim: Sim, topic: str, size: int, rate: float) -> Iterator[None]:
    """Publish `rate` QoS 0 messages/s of `size` bytes to `topic` from another process."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.flood", sim.host, str(sim.port), topic, str(size),
         f"{rate:g}"],
        cwd=ROOT, stdin=subprocess.PIPE,
    )
    try:
        yield
    finally:
        end_by_eof(proc)
