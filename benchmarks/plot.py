"""The scaling curves: rate vs payload size, vs clients, vs latency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot(results: dict[str, Any], path: Path) -> None:
    fig, ((sizes_ax, mb_ax), (clients_ax, latency_ax)) = plt.subplots(2, 2, figsize=(12, 9))
    ingest = results["ingest"]
    sizes = [int(s) for s in ingest]
    for name, style in (("driver", "o-"), ("readuntil", "s--"), ("pipe", "^:")):
        sizes_ax.plot(sizes, [ingest[str(s)][name]["rate"] for s in sizes], style, label=name)
        mb_ax.plot(sizes, [ingest[str(s)][name]["mb_per_s"] for s in sizes], style, label=name)
    peer = {int(k.split("_")[1]): v["peer"] for k, v in results["peer"].items()
            if k.startswith("chunked")}
    if peer:
        xs = sorted(peer)
        sizes_ax.plot(xs, [peer[s]["rate"] for s in xs], "x-.", label="peer (thread, chunked)")
        mb_ax.plot(xs, [peer[s]["mb_per_s"] for s in xs], "x-.", label="peer (thread, chunked)")
    reference = {k: v for k, v in results.get("reference_read", {}).items() if k != "read_size"}
    for size, row in reference.items():
        mb_ax.plot([int(size)], [row["driver"]["mb_per_s"]], "o", mfc="none",
                   label=f"driver, pyserial-asyncio {results['reference_read']['read_size']} B "
                   "reads (reference)")
    for ax, unit in ((sizes_ax, "messages/s"), (mb_ax, "MB/s")):
        ax.set(xscale="log", xlabel="payload bytes", ylabel=unit,
               title=f"Ingest, six clients: {unit} vs payload size")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)

    after = results["concurrency"]["after_ok"]
    for latency in sorted({p["latency_s"] for p in after}):
        points = [p for p in after if p["latency_s"] == latency]
        xs = [p["clients"] for p in points]
        line = clients_ax.plot(xs, [p["rate"] for p in points], "o-",
                               label=f"L={latency * 1000:g} ms")[0]
        clients_ax.plot(xs, [p["bound"] for p in points], "--", color=line.get_color(),
                        alpha=0.6)
        clients_ax.plot(xs, [p["ideal"] for p in points], ":", color=line.get_color(),
                        alpha=0.4)
    clients_ax.set(yscale="log", xlabel="clients publishing", ylabel="publishes/s",
                   title="Virtual NM28: publish rate vs clients (result after OK)\n"
                   "dashed: bare host on the same sim; dotted: min(n/L, channel)")
    clients_ax.legend(fontsize=8)
    clients_ax.grid(True, which="both", alpha=0.3)

    six = sorted((p for p in after if p["clients"] == 6), key=lambda p: p["latency_s"])
    before = sorted(results["concurrency"]["before_ok"], key=lambda p: p["latency_s"])
    ms = [p["latency_s"] * 1000 for p in six]
    latency_ax.plot(ms, [p["rate"] for p in six], "o-", label="6 clients, after OK")
    latency_ax.plot(ms, [p["bound"] for p in six], "--", label="bare host, after OK")
    latency_ax.plot(ms, [p["ideal"] for p in six], ":", label="ideal min(6/L, channel)")
    ms = [p["latency_s"] * 1000 for p in before]
    latency_ax.plot(ms, [p["rate"] for p in before], "s-", label="6 clients, before OK")
    latency_ax.plot(ms, [p["bound"] for p in before], "--", label="bare host, before OK")
    latency_ax.plot(ms, [p["ideal"] for p in before], ":", label="ideal 1/L")
    latency_ax.set(xscale="log", yscale="log", xlabel="acknowledgement latency L (ms)",
                   ylabel="publishes/s", title="Virtual NM28: publish rate vs latency")
    latency_ax.legend(fontsize=8)
    latency_ax.grid(True, which="both", alpha=0.3)

    fig.suptitle(f"nm28_async benchmarks ({results['machine']['cpu_model']}, "
                 f"{results['machine']['cpu_count']} CPUs, "
                 f"Python {results['machine']['python']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
