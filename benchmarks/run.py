"""Run every benchmark: `python -m benchmarks.run [--quick] [--out benchmarks/results]`.

Writes `latest.json` (machine, versions, every figure), `latest.png` (scaling curves) and
`latest.md` (the README table) to the output directory, and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from . import memory, plot, report, suite
from .machine import describe
from .profiling import profile_ingest
from .rig import responder_pty


async def _measure(path: str, plan: suite.Plan) -> dict[str, Any]:
    """Benchmarks 1, 2, 6 and the AT channel on the scripted responder."""
    results: dict[str, Any] = {"ingest": await suite.run_ingest(path, plan)}
    if plan.reference:
        results["reference_read"] = await suite.run_reference(path, plan)
    results["peer"] = await suite.run_peer(path, plan, results["ingest"])
    results["roundtrip"] = await suite.run_roundtrip(path, plan)
    results["channel"] = await suite.run_channel(path, plan)
    return results


async def _measure_sim(plan: suite.Plan, channel_rate: float) -> dict[str, Any]:
    """Benchmarks 3 and 4 on the virtual NM28 (`nm28 sim --pty`, one process per setting)."""
    return {
        "concurrency": await suite.run_concurrency(plan, channel_rate),
        "pacing": await suite.run_pacing(plan),
    }


def run(quick: bool, out: Path) -> dict[str, Any]:
    plan = suite.QUICK if quick else suite.FULL
    started = time.perf_counter()
    results: dict[str, Any] = {
        "machine": describe(),
        "mode": "quick" if quick else "full",
        "plan": plan.__dict__,
        "rig": {
            "ingest, round trip, peer, channel": "scripted responder process on a pty "
            "(benchmarks/responder.py)",
            "concurrency, pacing": "virtual NM28 process, nm28 sim --pty, embedded broker",
        },
    }
    with responder_pty() as path:
        results.update(asyncio.run(_measure(path, plan)))
    channel_rate = results["channel"]["channel_bare"]["rate"]
    results.update(asyncio.run(_measure_sim(plan, channel_rate)))
    results["memory"] = memory.measure(plan.memory_messages, 64)
    results["profile_ingest_64"] = profile_ingest(plan.profile_count, 64)
    results["duration_s"] = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    plot.plot(results, out / "latest.png")
    table, goals = report.rows(results), report.targets(results)
    markdown = report.markdown(goals, report.TARGET_HEADER) + "\n\n" + report.markdown(table)
    (out / "latest.md").write_text(markdown + "\n", encoding="utf-8")
    print(report.console(table))
    print()
    print(report.console(goals, report.TARGET_HEADER))
    print(f"\n{results['mode']} run in {results['duration_s']:.0f} s; wrote {out}/latest.*")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (under 30 s)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    run(args.quick, args.out)


if __name__ == "__main__":
    main()
