"""Run every benchmark: `python -m benchmarks.run [--quick] [--out benchmarks/results]`.

Writes `latest.json` (machine, versions, every round of every figure), `latest.png` and
`latest.md` (the targets, measurement and deployment tables) to the output directory, and
prints the tables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import memory, outbox, plot, report, suite
from .machine import describe
from .profiling import profile_ingest
from .rig import responder_pty

METHOD = (
    "module side in another process (benchmarks/responder.py on a pty); each figure's "
    "variants interleaved round by round (driver first, then its baselines), the same "
    "rounds for all; medians with their min-max band; ratios are ratios of medians, their "
    "band the min-max of the ratios of the rounds; CPU = process CPU time of the consumer"
)


async def _measure(path: str, plan: suite.Plan) -> dict[str, Any]:
    results: dict[str, Any] = {"seconds": {}}
    for name, figure in (
        ("ingest", suite.run_ingest), ("roundtrip", suite.run_roundtrip),
        ("publish", suite.run_publish), ("deployment", suite.run_deployment),
    ):  # fmt: skip
        started = time.perf_counter()
        results[name] = await figure(path, plan)
        results["seconds"][name] = time.perf_counter() - started
    return results


def run(quick: bool, out: Path, on_uvloop: bool = False) -> dict[str, Any]:
    plan = suite.QUICK if quick else suite.FULL
    started = time.perf_counter()
    loop_factory = _uvloop_factory() if on_uvloop else asyncio.new_event_loop
    results: dict[str, Any] = {
        "machine": describe(loop_factory),
        "mode": ("quick" if quick else "full") + (", on uvloop" if on_uvloop else ""),
        "plan": asdict(plan),
        "method": METHOD,
    }
    with responder_pty() as path, asyncio.Runner(loop_factory=loop_factory) as runner:
        results.update(runner.run(_measure(path, plan)))
    started_rest = time.perf_counter()
    results["memory"] = memory.measure(plan.memory_messages, 64)
    results["profile_ingest_64"] = profile_ingest(plan.profile_count, 64)
    results["seconds"]["memory, profile"] = time.perf_counter() - started_rest
    started_outbox = time.perf_counter()
    results["outbox"] = outbox.measure(quick)
    results["seconds"]["outbox"] = time.perf_counter() - started_outbox
    results["targets"] = suite.targets(results) + outbox.targets(results["outbox"])
    results["machine"]["load_average_at_end"] = os.getloadavg()
    results["duration_s"] = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    plot.plot(results, out / "latest.png")
    outbox_line = outbox.line(results["outbox"])
    (out / "latest.md").write_text(
        report.markdown(results) + "\n\n" + outbox_line + "\n", encoding="utf-8"
    )
    print(report.console(results) + "\n\n" + outbox_line)
    print(f"\n{results['mode']} run in {results['duration_s']:.0f} s; wrote {out}/latest.*")
    return results


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    import uvloop  # the `uvloop` extra

    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (under 30 s)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--uvloop", action="store_true",
        help="the driver and its baselines on uvloop (the targets are judged on asyncio's loop)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    run(args.quick, args.out, args.uvloop)


if __name__ == "__main__":
    main()
