"""The measurements of one run, each next to its baseline, as JSON-ready dicts."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from . import concurrency, ingest, pacing, peer, roundtrip, simrig
from .measure import Sample, best

INGEST_SIZES = (16, 64, 256, 2048)
REFERENCE_READ_SIZE = 1024
"""pyserial-asyncio's own read per readiness callback (the transport sets `READ_SIZE`)."""
REFERENCE_SIZE = 2048


@dataclass(frozen=True)
class Plan:
    """How much work each measurement does (`--quick` shrinks it)."""

    repeats: int
    ingest_bytes: int
    """Wire bytes per ingest run (capped at `ingest_max` messages)."""
    ingest_max: int
    reference: bool
    """Also ingest with pyserial-asyncio's default 1 KiB read (a reference row)."""
    peer_scale: float
    roundtrip_count: int
    roundtrip_rounds: int
    latencies: tuple[float, ...]
    client_counts: tuple[int, ...]
    point_seconds: float
    channel_count: int
    bauds: tuple[int, ...]
    pacing_seconds: float
    pacing_size: int
    memory_messages: int
    profile_count: int


FULL = Plan(
    repeats=3, ingest_bytes=24_000_000, ingest_max=150_000, reference=True, peer_scale=1.0,
    roundtrip_count=3000, roundtrip_rounds=3, latencies=(0.005, 0.02, 0.1),
    client_counts=(1, 2, 3, 4, 5, 6), point_seconds=0.5, channel_count=3000,
    bauds=(115200, 921600), pacing_seconds=1.0, pacing_size=512, memory_messages=10_000,
    profile_count=60_000,
)
QUICK = Plan(
    repeats=1, ingest_bytes=4_000_000, ingest_max=40_000, reference=False, peer_scale=0.25,
    roundtrip_count=1000, roundtrip_rounds=1, latencies=(0.02,),
    client_counts=(1, 6), point_seconds=0.2, channel_count=1000,
    bauds=(921600,), pacing_seconds=0.3, pacing_size=512, memory_messages=10_000,
    profile_count=20_000,
)


def ingest_count(plan: Plan, size: int) -> int:
    frame = 40 + size
    return min(plan.ingest_max, max(600, plan.ingest_bytes // frame))


async def _best(repeats: int, run: Callable[[], Awaitable[Sample]]) -> Sample:
    return best([await run() for _ in range(repeats)])


async def _ingest_table(
    path: str, plan: Plan, sizes: tuple[int, ...], read_size: int | None
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for size in sizes:
        count = ingest_count(plan, size)
        row: dict[str, Any] = {"messages": count}
        for name, func in (
            ("pipe", ingest.pipe), ("readuntil", ingest.readuntil), ("driver", ingest.driver)
        ):
            run = partial(func, path, count, size, read_size=read_size)
            row[name] = (await _best(plan.repeats, run)).figures()
        row["driver_vs_pipe"] = row["driver"]["rate"] / row["pipe"]["rate"]
        row["driver_vs_readuntil"] = row["driver"]["rate"] / row["readuntil"]["rate"]
        results[str(size)] = row
    return results


async def run_ingest(path: str, plan: Plan) -> dict[str, Any]:
    """Benchmark 1: every payload size, driver against pipe and readuntil."""
    return await _ingest_table(path, plan, INGEST_SIZES, None)


async def run_reference(path: str, plan: Plan) -> dict[str, Any]:
    """Ingest once more with pyserial-asyncio's default 1 KiB read, for reference."""
    table = await _ingest_table(path, plan, (REFERENCE_SIZE,), REFERENCE_READ_SIZE)
    return {"read_size": REFERENCE_READ_SIZE, **table}


async def run_peer(path: str, plan: Plan, ingest_results: dict[str, Any]) -> dict[str, Any]:
    """Benchmark 6: the thread + call_soon_threadsafe design against ours."""
    results: dict[str, Any] = {}
    variants = (("chunked", True, (64, 2048), 1.0), ("readline", False, (64,), 0.005))
    for name, chunked, sizes, share in variants:
        for size in sizes:
            count = max(60, int(ingest_count(plan, size) * share * plan.peer_scale))
            sample = await peer.naive(path, count, size, chunked=chunked)
            ours = ingest_results[str(size)]["driver"]
            results[f"{name}_{size}"] = {
                "messages": count,
                "payload_bytes": size,
                "peer": sample.figures(),
                "driver_rate": ours["rate"],
                "driver_cpu_us_per_item": ours["cpu_us_per_item"],
                "driver_vs_peer": ours["rate"] / sample.rate,
            }
    return results


async def run_roundtrip(path: str, plan: Plan) -> dict[str, Any]:
    """Benchmark 2, alternating bare and driver rounds; the best of each."""
    bares: list[Sample] = []
    drivers: list[Sample] = []
    for _ in range(plan.roundtrip_rounds):
        bares.append(await roundtrip.bare(path, plan.roundtrip_count))
        drivers.append(await roundtrip.driver(path, plan.roundtrip_count))
    bare, driver = best(bares), best(drivers)
    return {
        "bare": bare.figures(),
        "driver": driver.figures(),
        "bare_time_over_driver_time": bare.wall / driver.wall,
        "driver_time_over_bare_time": driver.wall / bare.wall,
    }


async def run_channel(path: str, plan: Plan) -> dict[str, Any]:
    """The AT channel alone (responder, latency 0): bare exchanges against six clients."""
    channel = await concurrency.bare_channel(path, plan.channel_count)
    saturated = await concurrency.responder_publish_rate(path, 6, plan.channel_count // 6)
    return {
        "channel_bare": channel.figures(),
        "channel_driver_6_clients": saturated.figures(),
        "driver_channel_share": saturated.rate / channel.rate,
    }


async def _sim_latency(
    plan: Plan, latency: float, result_after_ok: bool, counts: tuple[int, ...]
) -> tuple[dict[int, Sample], dict[int, Sample], float]:
    if result_after_ok:
        per_point = {n: max(3, round(plan.point_seconds / latency)) for n in counts}
    else:
        per_point = {n: max(2, round(plan.point_seconds / latency / n)) for n in counts}
    repeats = {max(counts): plan.repeats}
    started = time.perf_counter()
    with simrig.sim_process(network_latency=latency, result_after_ok=result_after_ok) as sim:
        drivers = await concurrency.driver_rates(sim, counts, per_point, repeats)
        bares = await concurrency.bare_rates(sim, counts, per_point, repeats)
    return drivers, bares, time.perf_counter() - started


async def run_concurrency(plan: Plan, channel_rate: float) -> dict[str, Any]:
    """Benchmark 3 on the virtual NM28: scaling with clients and latency, results after and
    before OK; each point against a bare host on the same sim."""
    results: dict[str, Any] = {
        "rig": "nm28 sim --pty (embedded amqtt broker), QoS 1 publishes of 64 B",
        "after_ok": [],
        "before_ok": [],
        "sim_seconds": 0.0,
    }
    for latency in plan.latencies:
        drivers, bares, seconds = await _sim_latency(plan, latency, True, plan.client_counts)
        results["sim_seconds"] += seconds
        for n in plan.client_counts:
            ideal = concurrency.bound(n, latency, channel_rate, True)
            results["after_ok"].append(_point(n, latency, drivers[n], bares[n], ideal))
        drivers, bares, seconds = await _sim_latency(plan, latency, False, (6,))
        results["sim_seconds"] += seconds
        ideal = concurrency.bound(6, latency, channel_rate, False)
        results["before_ok"].append(_point(6, latency, drivers[6], bares[6], ideal))
    return results


def _point(
    clients: int, latency: float, driver: Sample, bare: Sample, ideal: float
) -> dict[str, Any]:
    return {
        "clients": clients,
        "latency_s": latency,
        "rate": driver.rate,
        "bound": bare.rate,
        "ratio_to_bound": driver.rate / bare.rate,
        "ideal": ideal,
        "ratio_to_ideal": driver.rate / ideal,
        "bare_to_ideal": bare.rate / ideal,
        "cpu_us_per_publish": driver.cpu_us,
        "bare_cpu_us_per_publish": bare.cpu_us,
        "publishes": driver.count,
    }


async def run_pacing(plan: Plan) -> dict[str, Any]:
    """Benchmark 4 on the virtual NM28 at `--baudrate`: share of the 8N1 line rate the
    driver (and a bare pipe, on its own sim) receives while a publisher floods the topic."""
    results: dict[str, Any] = {}
    size = plan.pacing_size
    for baud in plan.bauds:
        line = pacing.line_rate(baud)
        with simrig.sim_process(baudrate=baud) as sim:
            driver = await pacing.driver(sim, baud, size, plan.pacing_seconds)
        with simrig.sim_process(baudrate=baud) as sim:
            pipe = await pacing.pipe(sim, baud, size, plan.pacing_seconds)
        results[str(baud)] = {
            "line_rate_bytes_per_s": line,
            "payload_bytes": size,
            "published_per_s": pacing.publish_rate(baud, size),
            "driver": driver.figures(),
            "pipe": pipe.figures(),
            "driver_share": driver.nbytes / driver.wall / line,
            "pipe_share": pipe.nbytes / pipe.wall / line,
        }
    return results
