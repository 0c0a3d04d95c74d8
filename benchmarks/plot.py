"""The figures as a plot: medians with their min-max band (error bars) over the rounds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

STYLES = {"driver": "o-", "readuntil": "s--", "floor": "^:", "peer": "x-."}


def _errors(summaries: list[dict[str, Any]], figure: str, scale: float = 1.0) -> list[list[float]]:
    """Distances from each median down to the band's min and up to its max."""
    lows, highs = [], []
    for s in summaries:
        median, (low, high) = s["median"][figure], s["band"][figure]
        lows.append((median - low) * scale)
        highs.append((high - median) * scale)
    return [lows, highs]


def _ingest(ax: Axes, ingest: dict[str, Any], figure: str, ylabel: str, title: str) -> None:
    sizes = [int(s) for s in ingest]
    for variant in next(iter(ingest.values()))["variants"]:
        summaries = [ingest[str(s)]["variants"][variant] for s in sizes]
        ax.errorbar(sizes, [s["median"][figure] for s in summaries],
                    yerr=_errors(summaries, figure), fmt=STYLES.get(variant, "o-"),
                    capsize=3, label=variant)  # fmt: skip
    ax.set(xscale="log", yscale="log", xlabel="payload bytes", ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)


def _deployment(ax: Axes, deployment: dict[str, Any]) -> None:
    names = list(deployment)
    width = 0.38
    for offset, variant in ((-width / 2, "driver"), (width / 2, "floor")):
        summaries = [deployment[n]["variants"][variant] for n in names]
        ax.bar([i + offset for i in range(len(names))],
               [s["median"]["cpu_share"] * 100 for s in summaries], width,
               yerr=_errors(summaries, "cpu_share", 100), capsize=3, label=variant)  # fmt: skip
    ax.set_xticks(range(len(names)), names, fontsize=8)
    ax.set(ylabel="% of one core", title="What a deployment pays: CPU share on a paced stream")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)


def _targets(ax: Axes, targets: list[dict[str, Any]]) -> None:
    ys = list(range(len(targets)))[::-1]
    for y, t in zip(ys, targets, strict=True):
        color = "tab:green" if t["verdict"] == "holds" else "tab:red"
        band = t["band"] or [t["ratio"], t["ratio"]]
        ax.errorbar([t["ratio"]], [y], xerr=[[t["ratio"] - band[0]], [band[1] - t["ratio"]]],
                    fmt="o", color=color, capsize=3)  # fmt: skip
        ax.plot([t["threshold"]], [y], "<" if t["at_most"] else ">", color="black", ms=7)
    ax.set_yticks(ys, [t["target"] for t in targets], fontsize=7)
    ax.set(xlabel="ratio (median, band); black: threshold (> at least, < at most)", title="Targets")
    ax.grid(True, axis="x", alpha=0.3)


def plot(results: dict[str, Any], path: Path) -> None:
    fig, ((rate_ax, cpu_ax), (deploy_ax, target_ax)) = plt.subplots(2, 2, figsize=(13, 9))
    _ingest(
        rate_ax,
        results["ingest"],
        "rate",
        "messages/s",
        "Ingest, six clients: messages/s vs payload size",
    )
    _ingest(
        cpu_ax,
        results["ingest"],
        "cpu_us_per_item",
        "CPU µs per message",
        "Ingest: consumer CPU µs per message",
    )
    _deployment(deploy_ax, results["deployment"])
    _targets(target_ax, results["targets"])
    m = results["machine"]
    fig.suptitle(f"nm28_async benchmarks, {results['mode']} run, {results['plan']['rounds']} "
                 f"interleaved rounds ({m['cpu_model']}, {m['cpu_count']} CPUs, "
                 f"Python {m['python']})", fontsize=10)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
