"""The figures of one run, each variant interleaved with its baselines, as JSON-ready dicts;
and the targets (issue 11, design.md "Performance targets") judged on them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from . import concurrency, ingest, peer, roundtrip, wire
from .measure import Run, compare, interleave
from .responder import PACE_SLICE


@dataclass(frozen=True)
class Plan:
    """How much work each figure does (`--quick` shrinks it)."""

    rounds: int
    """Rounds of every interleaved figure; medians and bands are over these."""
    ingest_sizes: tuple[int, ...]
    ingest_bytes: int
    """Wire bytes per ingest run (capped at `ingest_max` messages)."""
    ingest_max: int
    roundtrip_count: int
    publish_points: tuple[tuple[float, bool], ...]
    """(acknowledgement latency s, result after OK) of each six-client publish figure."""
    publish_seconds: float
    """About how long each publish run lasts."""
    deployment_seconds: float
    """How long each paced stream lasts."""
    memory_messages: int
    profile_count: int


FULL = Plan(
    rounds=5,
    ingest_sizes=(16, 64, 256, 2048),
    ingest_bytes=24_000_000,
    ingest_max=100_000,
    roundtrip_count=2000,
    publish_points=((0.0, True), (0.005, True), (0.02, True), (0.02, False)),
    publish_seconds=0.6,
    deployment_seconds=3.0,
    memory_messages=10_000,
    profile_count=60_000,
)
QUICK = Plan(
    rounds=3,
    ingest_sizes=(64, 2048),
    ingest_bytes=4_000_000,
    ingest_max=20_000,
    roundtrip_count=500,
    publish_points=((0.02, True),),
    publish_seconds=0.25,
    deployment_seconds=0.7,
    memory_messages=10_000,
    profile_count=10_000,
)

CLIENTS = wire.CLIENTS
CHANNEL_ESTIMATE = 3000.0
"""Publishes/s the AT channel carries, roughly: sizes the latency-0 publish runs."""
DEPLOYMENTS = (
    ("921600 baud, 64 B", 92_160.0, 64),
    ("921600 baud, 256 B", 92_160.0, 256),
    ("USB 2 MB/s, 256 B", 2_000_000.0, 256),
)
"""(name, bytes/s the responder paces the stream at, payload bytes): 921600 baud 8N1
carries 92160 B/s."""


def _count(total_bytes: float, size: int) -> int:
    """About how many messages of `size` make `total_bytes` on the wire."""
    return int(total_bytes // len(wire.frame(0, 1, size)))


async def run_ingest(path: str, plan: Plan) -> dict[str, Any]:
    """Every payload size: the driver, readuntil, the floor and the peer design, interleaved."""
    results: dict[str, Any] = {}
    for size in plan.ingest_sizes:
        count = min(plan.ingest_max, max(600, _count(plan.ingest_bytes, size)))
        variants: dict[str, Run] = {
            name: partial(func, path, count, size) for name, func in ingest.VARIANTS.items()
        }
        variants["peer"] = partial(peer.peer, path, count, size)
        results[str(size)] = {
            "messages": count,
            "payload_bytes": size,
            "variants": await interleave(plan.rounds, variants),
        }
    return results


async def run_roundtrip(path: str, plan: Plan) -> dict[str, Any]:
    variants: dict[str, Run] = {
        "driver": partial(roundtrip.driver, path, plan.roundtrip_count),
        "bare": partial(roundtrip.bare, path, plan.roundtrip_count),
    }
    return {"commands": plan.roundtrip_count, "variants": await interleave(plan.rounds, variants)}


def publish_key(latency: float, result_after_ok: bool) -> str:
    return f"L={latency * 1000:g} ms, result {'after' if result_after_ok else 'before'} OK"


async def run_publish(path: str, plan: Plan) -> dict[str, Any]:
    """Six clients publishing QoS 1 at each (latency, order): the driver and a bare host."""
    results: dict[str, Any] = {}
    for latency, after_ok in plan.publish_points:
        ideal = concurrency.ideal(CLIENTS, latency, after_ok)
        per_client = max(3, round(plan.publish_seconds * (ideal or CHANNEL_ESTIMATE) / CLIENTS))
        args = (path, latency, after_ok, CLIENTS, per_client)
        variants: dict[str, Run] = {
            "driver": partial(concurrency.driver, *args),
            "bare": partial(concurrency.bare, *args),
        }
        results[publish_key(latency, after_ok)] = {
            "clients": CLIENTS,
            "latency_s": latency,
            "result_after_ok": after_ok,
            "publishes": CLIENTS * per_client,
            "ideal_rate": ideal,
            "variants": await interleave(plan.rounds, variants),
        }
    return results


async def run_deployment(path: str, plan: Plan) -> dict[str, Any]:
    """The driver and the floor on a stream the responder paces; CPU share = CPU s / wall s."""
    results: dict[str, Any] = {}
    for name, bytes_per_s, size in DEPLOYMENTS:
        count = _count(bytes_per_s * plan.deployment_seconds, size)
        variants: dict[str, Run] = {
            variant: partial(ingest.VARIANTS[variant], path, count, size, rate=bytes_per_s)
            for variant in ("driver", "floor")
        }
        results[name] = {
            "bytes_per_s": bytes_per_s,
            "write_every_s": PACE_SLICE,
            "bytes_per_write": int(bytes_per_s * PACE_SLICE),
            "payload_bytes": size,
            "messages": count,
            "variants": await interleave(plan.rounds, variants),
        }
    return results


MEMORY_REFERENCE = 157.0
"""Bytes over the payload a queued 64 B message held when issue 11 was filed."""


def cpu_share_target(deployment: str) -> str:
    """The name of a deployment's CPU-share target (the report finds it by this name)."""
    return f"CPU share of a core, {deployment}"


@dataclass(frozen=True)
class Target:
    name: str
    where: tuple[str, ...]
    """Keys from the results to the measurement whose `variants` are compared."""
    num: str
    den: str
    compared: str
    figure: str
    """The figure compared: "rate" or "cpu_share"."""
    threshold: float
    at_most: bool = False


TARGETS = (
    Target("ingest 64 B, six async for consumers", ("ingest", "64"), "driver", "readuntil",
           "driver / readuntil msg/s", "rate", 1.0),
    Target("ingest 2048 B, six async for consumers", ("ingest", "2048"), "driver", "floor",
           "driver / floor (counting Protocol) msg/s", "rate", 0.9),
    Target('command("AT") round trip', ("roundtrip",), "driver", "bare",
           "bare os.write+readuntil time / driver time", "rate", 0.9),
    Target("six clients, results 20 ms after OK", ("publish", publish_key(0.02, True)),
           "driver", "bare", "driver / bare host pub/s (same responder)", "rate", 0.98),
    *(Target(cpu_share_target(name), ("deployment", name), "driver", "floor",
             "driver / floor CPU s per wall s", "cpu_share", 1.3, at_most=True)
      for name, _, _ in DEPLOYMENTS),
)  # fmt: skip


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target whose figure this run measured: the ratio of medians, its band, the verdict."""
    out: list[dict[str, Any]] = []
    for target in TARGETS:
        found: dict[str, Any] | None = results
        for key in target.where:
            found = found.get(key) if found is not None else None
        if found is None:
            continue
        variants = found["variants"]
        comparison = compare(variants[target.num], variants[target.den], target.figure)
        out.append(
            _judged(
                target.name,
                target.compared,
                comparison["ratio"],
                comparison["band"],
                target.threshold,
                target.at_most,
            )
        )
    memory = results.get("memory")
    if memory is not None:
        ratio = memory["overhead_per_message_bytes"] / MEMORY_REFERENCE
        out.append(_judged(
            f"memory per queued {memory['payload_bytes']} B message",
            f"overhead over the payload / {MEMORY_REFERENCE:g} B", ratio, None, 1.1, True
        ))  # fmt: skip
    return out


def _judged(
    name: str,
    compared: str,
    ratio: float,
    band: list[float] | None,
    threshold: float,
    at_most: bool,
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
