"""What the bridge shows: Prometheus text at `/metrics` (prometheus-client) and `/healthz`.

The names are gateway.md's contract. Values the session and its outbox hold (depth, age,
delivered, reconnects) are read when scraped, on the event loop that owns them: the HTTP
server is an asyncio server on the bridge's loop, so no thread reads the session's state.
Every AT command is counted and timed by wrapping the engine's `execute` on this modem.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..engine import Engine
from ..outbox import OutboxStats

log = logging.getLogger("nm28_async.bridge")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_COMMAND_NAME = re.compile(r"AT\+?([A-Z0-9&]+)")


def command_name(text: str) -> str:
    """`AT+MQTTPUBEX=0,...` -> `MQTTPUBEX`; `AT` -> `AT`."""
    match = _COMMAND_NAME.match(text.upper())
    return match.group(1) if match and match.group(1) else "AT"


class Health:
    """Whether the bridge works end to end, and why not: the cloud link and the local broker."""

    def __init__(self) -> None:
        self.cloud_reason: str | None = "the cloud link is not up yet"
        self.local_reason: str | None = "the local broker is not connected yet"

    @property
    def reasons(self) -> list[str]:
        return [reason for reason in (self.cloud_reason, self.local_reason) if reason]


class Metrics:
    """The bridge's registry. `read` gives what the session knows, at scrape time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.health = Health()
        r = self.registry
        self.received = Counter(
            "nm28_received", "Messages received from the cloud (downlinks)", registry=r
        )
        self.commands = Counter(
            "nm28_commands", "AT commands sent to the module, by result",
            ["command", "result"], registry=r,
        )  # fmt: skip
        self.command_duration = Histogram(
            "nm28_command_duration_seconds", "Time from an AT command's write to its end",
            ["command"], registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, math.inf),
        )  # fmt: skip
        self.link_up = Gauge("nm28_link_up", "1 while the cloud link is connected", registry=r)
        self.local_up = Gauge(
            "nm28_bridge_local_up", "1 while the local broker is connected", registry=r
        )
        self.registered = Gauge(
            "nm28_network_registered", "1 while the module is registered (home or roaming)",
            registry=r,
        )  # fmt: skip
        self.rsrp = Gauge(
            "nm28_signal_rsrp_dbm", "Reference signal received power (NaN: unknown)", registry=r
        )
        self.rsrp.set(math.nan)
        self.registered.set(math.nan)
        self.forwarded = Counter(
            "nm28_bridge_forwarded", "Local messages stored in the outbox for the cloud",
            registry=r,
        )  # fmt: skip
        self.refused = Counter(
            "nm28_bridge_refused", "Local messages the module cannot carry (acknowledged, "
            "logged, not stored: an empty or oversized payload, a topic it refuses)",
            registry=r,
        )  # fmt: skip
        self.published_local = Counter(
            "nm28_bridge_published_local", "Downlinks published to the local broker", registry=r
        )
        self.echoes = Counter(
            "nm28_bridge_echoes_dropped", "Cloud messages dropped as the echo of a forwarded one",
            registry=r,
        )  # fmt: skip
        self.local_reconnects = Counter(
            "nm28_bridge_local_reconnects", "Connections made to the local broker after the "
            "first", registry=r,
        )  # fmt: skip
        self._session: Callable[[], tuple[OutboxStats, int] | None] = lambda: None
        r.register(_SessionCollector(lambda: self._session()))

    def read_session(self, read: Callable[[], tuple[OutboxStats, int] | None]) -> None:
        """Where the outbox's stats and the reconnect count come from (None: no session)."""
        self._session = read

    def time_commands(self, engine: Engine) -> None:
        """Count and time every command this engine runs (its `execute`, wrapped here)."""
        execute = engine.execute

        @functools.wraps(execute)
        async def timed(command: Any, **kwargs: Any) -> Any:
            name = command_name(command.log_text)
            started = time.monotonic()
            result = "ok"
            try:
                return await execute(command, **kwargs)
            except asyncio.CancelledError:
                result = "cancelled"
                raise
            except TimeoutError:
                result = "timeout"
                raise
            except Exception:
                result = "error"
                raise
            finally:
                self.commands.labels(name, result).inc()
                self.command_duration.labels(name).observe(time.monotonic() - started)

        engine.execute = timed  # type: ignore[method-assign]

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _SessionCollector(Collector):
    def __init__(self, read: Callable[[], tuple[OutboxStats, int] | None]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        got = self._read()
        stats, reconnects = got if got is not None else (None, 0)
        depth = GaugeMetricFamily("nm28_outbox_messages", "Messages waiting in the outbox")
        age = GaugeMetricFamily(
            "nm28_outbox_oldest_age_seconds", "Age of the oldest waiting message (0: empty)"
        )
        published = CounterMetricFamily(
            "nm28_published", "Outbox messages delivered to the cloud (this run)"
        )
        gone = CounterMetricFamily(
            "nm28_outbox_discarded", "Outbox messages not delivered, by why", labels=["reason"]
        )
        reconnected = CounterMetricFamily(
            "nm28_reconnects", "Times the cloud link was lost and made again"
        )
        if stats is not None:
            depth.add_metric([], stats.depth)
            age.add_metric([], stats.oldest_age or 0.0)
            published.add_metric([], stats.delivered)
            for reason in ("expired", "dropped", "dead"):
                gone.add_metric([reason], getattr(stats, reason))
        else:
            depth.add_metric([], 0)
            age.add_metric([], 0.0)
            published.add_metric([], 0)
        reconnected.add_metric([], reconnects)
        return [depth, age, published, gone, reconnected]

    def describe(self) -> Iterable[Metric]:
        return self.collect()


# --- the HTTP side: /metrics and /healthz, on the bridge's own loop ----------------------


async def serve(metrics: Metrics, host: str, port: int) -> asyncio.Server:
    """Start serving; OSError (address in use, ...) if it cannot listen."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 10)
            while (await asyncio.wait_for(reader.readline(), 10)).strip():
                pass  # the headers: nothing in them matters here
            status, body, kind = _route(metrics, request)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("ascii") + body)
            await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            pass  # a client that went away or never spoke
        finally:
            writer.close()

    return await asyncio.start_server(answer, host, port)


def _route(metrics: Metrics, request: bytes) -> tuple[str, bytes, str]:
    parts = request.decode("latin-1").split()
    if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
        return "405 Method Not Allowed", b"GET /metrics or /healthz\n", "text/plain"
    path = parts[1].split("?", 1)[0]
    if path == "/metrics":
        return "200 OK", metrics.render(), CONTENT_TYPE
    if path == "/healthz":
        reasons = metrics.health.reasons
        if reasons:
            return "503 Service Unavailable", ("; ".join(reasons) + "\n").encode(), "text/plain"
        return "200 OK", b"ok\n", "text/plain"
    return "404 Not Found", b"GET /metrics or /healthz\n", "text/plain"


async def watch_network(
    metrics: Metrics, status: Callable[[], Awaitable[Any]], interval: float
) -> None:
    """Read the module's registration and signal every `interval` seconds, for the gauges."""
    while True:
        try:
            got = await status()
        except Exception as exc:  # the module or its line: the gauges say unknown
            log.info("network status unavailable: %s", exc)
            metrics.registered.set(math.nan)
            metrics.rsrp.set(math.nan)
        else:
            metrics.registered.set(1 if got.registered else 0)
            rsrp = got.signal.rsrp_dbm
            metrics.rsrp.set(math.nan if rsrp is None else rsrp)
        await asyncio.sleep(interval)
