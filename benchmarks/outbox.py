"""The durable outbox: `python -m benchmarks.outbox [--quick] [--dir DIR]`.

* **Throughput**: many tasks enqueueing 64 B messages concurrently into `SqliteStore`
  (group commit on its worker thread) against a bare sqlite3 loop doing one INSERT and one
  COMMIT per message at the same durability (WAL, `synchronous=FULL`), in the same
  directory; rounds interleaved, the store first. Target: store / bare >= 1.0.
* **Event-loop lag**: a ticker task sleeping 1 ms measures its worst oversleep during each
  store round (the enqueue storm); the ticker alone on an idle loop is the reference.
  Target: worst lag <= 5 ms.
* **Disk bytes per stored 64 B message**: the file's size after a round (closed, so the
  WAL is checkpointed into it) over the messages it holds.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anyio

from nm28_async.outbox import MemoryStore, OutboxStore, SqliteStore

from .measure import Run, Sample, Stopwatch, compare, interleave

PAYLOAD = b"\x5a" * 64
TOPIC = "gw/up/telemetry"
TICK = 0.001
LAG_TARGET_S = 0.005
THROUGHPUT_TARGET = 1.0
ROOT = Path(__file__).resolve().parent.parent
"""Where `python -m benchmarks.outbox` runs from (as `rig.ROOT`, without the rig's imports)."""


@dataclass(frozen=True)
class Plan:
    rounds: int
    messages: int
    """Messages each store round enqueues."""
    bare_messages: int
    """Messages each bare round commits at most (one fsync each: fewer, the rate is what
    counts)..."""
    bare_seconds: float
    """...and for at most this long (a slow disk must not stretch the run)."""
    enqueuers: int
    """Concurrent enqueueing tasks in a store round."""


FULL = Plan(rounds=5, messages=20_000, bare_messages=3_000, bare_seconds=2.0, enqueuers=64)
QUICK = Plan(rounds=3, messages=4_000, bare_messages=600, bare_seconds=0.5, enqueuers=64)


class _Ticker:
    """The loop's worst lag: how much later than asked a 1 ms sleep returns."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.ticks = 0

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            await anyio.sleep(TICK)
            self.worst = max(self.worst, time.perf_counter() - started - TICK)
            self.ticks += 1


class _Rounds:
    """The variants of one directory, with what the store rounds saw besides their rate."""

    def __init__(self, directory: Path, plan: Plan) -> None:
        self.directory = directory
        self.plan = plan
        self.lags: list[float] = []
        self.memory_lags: list[float] = []
        self.bytes_per_message: list[float] = []
        self.transactions: list[int] = []
        self.bare_bytes_per_message: list[float] = []
        self._round = 0

    def _fresh(self, name: str) -> Path:
        self._round += 1
        return self.directory / f"{name}-{self._round}.sqlite"

    async def _storm(self, store: OutboxStore) -> tuple[Sample, float]:
        """`enqueuers` tasks enqueue `messages` into `store`, a ticker running: the sample
        and the worst lag the ticker saw."""
        count, enqueuers = self.plan.messages, self.plan.enqueuers
        ticker = _Ticker()

        async def enqueue(n: int) -> None:
            for _ in range(n):
                await store.enqueue(TOPIC, PAYLOAD, qos=1)

        async with anyio.create_task_group() as ticking:
            ticking.start_soon(ticker.run)
            await anyio.sleep(TICK * 5)  # the ticker is running before the storm starts
            watch = Stopwatch()
            async with anyio.create_task_group() as tg:
                for i in range(enqueuers):
                    tg.start_soon(enqueue, count // enqueuers + (i < count % enqueuers))
            sample = watch.stop(count, count * len(PAYLOAD))
            ticking.cancel_scope.cancel()
        assert store.stats.depth == count
        return sample, ticker.worst

    async def store(self) -> Sample:
        path = self._fresh("store")
        async with await SqliteStore.open(path, "bench", size=self.plan.messages + 1) as store:
            sample, lag = await self._storm(store)
            self.transactions.append(store.transactions)
        self.lags.append(lag)
        self.bytes_per_message.append(_file_bytes(path) / self.plan.messages)
        return sample

    async def memory(self) -> Sample:
        """The same storm into `MemoryStore`: what the loop pays with no disk and no thread,
        the reference for the sqlite store's lag."""
        async with MemoryStore(size=self.plan.messages + 1) as store:
            sample, lag = await self._storm(store)
        self.memory_lags.append(lag)
        return sample

    async def bare(self) -> Sample:
        path = self._fresh("bare")
        count = self.plan.bare_messages
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(
            "CREATE TABLE m (seq INTEGER PRIMARY KEY, topic TEXT, payload BLOB, qos INTEGER,"
            " retain INTEGER, stored_at REAL)"
        )
        watch = Stopwatch()
        deadline = time.perf_counter() + self.plan.bare_seconds
        seq = 0
        while seq < count and (seq < 10 or time.perf_counter() < deadline):
            seq += 1
            conn.execute("BEGIN")
            conn.execute(
                "INSERT INTO m VALUES (?, ?, ?, 1, 0, ?)", (seq, TOPIC, PAYLOAD, time.time())
            )
            conn.execute("COMMIT")
        sample = watch.stop(seq, seq * len(PAYLOAD))
        conn.execute("BEGIN")  # untimed: the file then holds as many messages as the store's
        conn.executemany(
            "INSERT INTO m VALUES (?, ?, ?, 1, 0, ?)",
            [(n, TOPIC, PAYLOAD, time.time()) for n in range(seq + 1, self.plan.messages + 1)],
        )
        conn.execute("COMMIT")
        count = self.plan.messages
        conn.close()
        self.bare_bytes_per_message.append(_file_bytes(path) / count)
        await anyio.lowlevel.checkpoint()
        return sample


def _file_bytes(path: Path) -> int:
    """The database file and whatever WAL is left beside it."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


async def _idle_lag(seconds: float) -> float:
    ticker = _Ticker()
    with anyio.move_on_after(seconds):
        await ticker.run()
    return ticker.worst


async def _measure(plan: Plan, directory: Path) -> dict[str, Any]:
    rounds = _Rounds(directory, plan)
    idle = await _idle_lag(0.2)
    variants: dict[str, Run] = {
        "store": rounds.store, "bare": rounds.bare, "memory": rounds.memory,
    }  # fmt: skip
    summaries = await interleave(plan.rounds, variants)
    throughput = compare(summaries["store"], summaries["bare"], "rate")
    return {
        "plan": asdict(plan),
        "payload_bytes": len(PAYLOAD),
        "variants": summaries,
        "throughput": throughput,
        "transactions_per_round": rounds.transactions,
        "messages_per_transaction": statistics.median(
            plan.messages / n for n in rounds.transactions
        ),
        "lag_s": {
            "rounds": rounds.lags,
            "median": statistics.median(rounds.lags),
            "band": [min(rounds.lags), max(rounds.lags)],
            "idle_worst": idle,
            "memory_store_rounds": rounds.memory_lags,
            "memory_store_median": statistics.median(rounds.memory_lags),
        },
        "disk_bytes_per_message": statistics.median(rounds.bytes_per_message),
        "bare_disk_bytes_per_message": statistics.median(rounds.bare_bytes_per_message),
    }


def measure(quick: bool, directory: Path | None = None) -> dict[str, Any]:
    """The outbox figures, measured in a fresh interpreter as the memory figure is: the
    loop's worst lag includes the garbage collector's pauses, which grow with the heap, and
    the heap should be the driver's, not that of every benchmark run before."""
    command = [sys.executable, "-m", "benchmarks.outbox", "--json"]
    command += ["--quick"] if quick else []
    command += ["--dir", str(directory)] if directory is not None else []
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True, timeout=300)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def measure_here(quick: bool, directory: Path | None = None) -> dict[str, Any]:
    """The outbox figures, in this process, in a temporary directory (or under `directory`)."""
    plan = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="nm28-outbox-bench-", dir=directory) as tmp:
        started = time.perf_counter()
        result: dict[str, Any] = anyio.run(_measure, plan, Path(tmp))
        result["seconds"] = time.perf_counter() - started
        return result


def targets(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The two outbox targets, in the shape `suite.targets` gives the others."""
    throughput, lag = figures["throughput"], figures["lag_s"]
    return [
        _judged(
            "durable enqueue, 64 B, concurrent enqueuers",
            "SqliteStore / bare INSERT+COMMIT loop msg/s (WAL, synchronous=FULL)",
            throughput["ratio"], throughput["band"], THROUGHPUT_TARGET, at_most=False,
        ),
        _judged(
            "event-loop lag during an enqueue storm",
            f"worst oversleep of a 1 ms ticker / {LAG_TARGET_S * 1000:g} ms",
            lag["median"] / LAG_TARGET_S, [v / LAG_TARGET_S for v in lag["band"]], 1.0,
            at_most=True,
        ),
    ]  # fmt: skip


def _judged(
    name: str, compared: str, ratio: float, band: list[float], threshold: float, at_most: bool
) -> dict[str, Any]:
    holds = ratio <= threshold if at_most else ratio >= threshold
    return {
        "target": name,
        "compared": compared,
        "ratio": ratio,
        "band": band,
        "threshold": threshold,
        "at_most": at_most,
        "verdict": "holds" if holds else "misses",
    }


def line(figures: dict[str, Any]) -> str:
    """The figures in one paragraph, for the console and latest.md."""
    store = figures["variants"]["store"]["median"]
    bare = figures["variants"]["bare"]["median"]
    lag = figures["lag_s"]
    plan = figures["plan"]
    return (
        f"Durable outbox: {plan['enqueuers']} tasks enqueue {plan['messages']:,} x "
        f"{figures['payload_bytes']} B at {store['rate']:,.0f} msg/s "
        f"({figures['messages_per_transaction']:.0f} per transaction, "
        f"{store['cpu_us_per_item']:.1f} µs CPU each) vs {bare['rate']:,.0f} msg/s for a bare "
        f"INSERT+COMMIT loop: {figures['throughput']['ratio']:.2f}x "
        f"({figures['throughput']['band'][0]:.2f}-{figures['throughput']['band'][1]:.2f}); "
        f"worst loop lag {lag['median'] * 1000:.2f} ms "
        f"({lag['band'][0] * 1000:.2f}-{lag['band'][1] * 1000:.2f}; the same storm into "
        f"MemoryStore {lag['memory_store_median'] * 1000:.2f} ms, an idle loop "
        f"{lag['idle_worst'] * 1000:.2f} ms); {figures['disk_bytes_per_message']:.0f} disk "
        f"bytes per stored message (bare table {figures['bare_disk_bytes_per_message']:.0f})."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.outbox", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer messages and rounds")
    parser.add_argument("--dir", type=Path, default=None, help="where the files go (a disk)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    figures = measure_here(args.quick, args.dir)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(line(figures))
    for target in targets(figures):
        print(f"  {target['target']}: {target['ratio']:.3f} ({target['verdict']})")


if __name__ == "__main__":
    main()
