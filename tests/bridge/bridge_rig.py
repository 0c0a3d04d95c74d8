"""`python -m nm28_async.bridge` in its own process, as a user runs it, and what the tests ask
of it: its metrics URL, /healthz and /metrics scraped with urllib (in a thread), its exit."""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import re
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path

from support.brokers import BrokerInfo, require_tool

BRIDGE = (sys.executable, "-m", "nm28_async.bridge")
CEILING = 45.0
"""Seconds any single wait may take on a slow, busy machine: a ceiling, never a pace."""
FAST = (
    "--backoff-initial", "0.05", "--backoff-maximum", "0.5", "--poll-interval", "1",
    "--status-interval", "1",
)  # fmt: skip
_runs = itertools.count()


def get(url: str) -> tuple[int, str]:
    """GET with urllib: status and body (an HTTP error status is an answer too)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


def sample(text: str, name: str) -> float:
    """The value of one unlabelled sample in Prometheus text (0 when absent)."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


class Bridge:
    """One bridge process; stdout read for its metrics URL, stderr kept in a file."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc = proc
        self.log = log
        self.metrics_url = ""

    @classmethod
    async def start(
        cls, port: str, cloud: BrokerInfo, local: BrokerInfo, store: Path, *args: str
    ) -> Bridge:
        log = store.parent / f"bridge-{next(_runs)}.log"
        err = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            proc = await asyncio.create_subprocess_exec(
                *BRIDGE, port, "-h", cloud.host, "-p", str(cloud.port), "-i", "gw-bridge",
                "--local", local.url, "--store", str(store), "--metrics", "127.0.0.1:0", *FAST,
                *args, stdout=asyncio.subprocess.PIPE, stderr=err,
            )  # fmt: skip
        finally:
            os.close(err)
        bridge = cls(proc, log)
        assert proc.stdout is not None
        async with asyncio.timeout(CEILING):
            while not bridge.metrics_url:
                line = (await proc.stdout.readline()).decode()
                assert line, f"the bridge exited: {bridge.errors()}"
                if line.startswith("metrics on "):
                    bridge.metrics_url = line.removeprefix("metrics on ").strip()
        return bridge

    def errors(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    @property
    def base(self) -> str:
        return self.metrics_url.removesuffix("/metrics")

    async def scrape(self) -> str:
        status, body = await asyncio.to_thread(get, self.metrics_url)
        assert status == 200
        return body

    async def health(self) -> tuple[int, str]:
        return await asyncio.to_thread(get, self.base + "/healthz")

    async def until_healthy(self, healthy: bool = True) -> str:
        """Wait until /healthz answers 200 (or 503 with `healthy=False`); its body."""
        async with asyncio.timeout(CEILING):
            while True:
                status, body = await self.health()
                if (status == 200) == healthy:
                    return body
                await asyncio.sleep(0.1)

    async def until_metric(self, name: str, at_least: float, at_most: float = math.inf) -> float:
        """Wait until the sample `name` is within [at_least, at_most]; its value."""
        async with asyncio.timeout(CEILING):
            while True:
                value = sample(await self.scrape(), name)
                if at_least <= value <= at_most:
                    return value
                await asyncio.sleep(0.1)

    async def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), CEILING)

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def publish_lines(info: BrokerInfo, topic: str, lines: list[str], qos: int = 1) -> None:
    """Publish one message per line with one `mosquitto_pub -l` (a stream)."""
    proc = await asyncio.create_subprocess_exec(
        require_tool("mosquitto_pub"), "-h", info.host, "-p", str(info.port), "-t", topic,
        "-q", str(qos), "-l", stdin=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await asyncio.wait_for(proc.communicate(("\n".join(lines) + "\n").encode()), CEILING)
    assert proc.returncode == 0
