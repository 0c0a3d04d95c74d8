"""The results as three tables (targets, measurements, deployment), the machine and memory:
markdown for `latest.md` and the README, aligned text for the console."""

from __future__ import annotations

from typing import Any

from .suite import cpu_share_target

Row = tuple[str, ...]
Table = tuple[Row, list[Row]]

UNITS = {"ingest": "msg/s", "roundtrip": "AT/s", "publish": "pub/s"}


def _n(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _band(band: list[float], fmt: str = "") -> str:
    low, high = band
    return f"{low:{fmt}}-{high:{fmt}}" if fmt else f"{_n(low)}-{_n(high)}"


def _pct(value: float) -> str:
    return f"{value * 100:.2f} %"


def targets_table(results: dict[str, Any]) -> Table:
    header = ("target", "compared", "median ratio", "band (rounds)", "threshold", "verdict")
    rows: list[Row] = [
        (t["target"], t["compared"], f"{t['ratio']:.3f}",
         _band(t["band"], ".3f") if t["band"] else "-",
         f"{'<=' if t['at_most'] else '>='} {t['threshold']:g}", t["verdict"])
        for t in results["targets"]
    ]  # fmt: skip
    return header, rows


def _variant_rows(name: str, unit: str, figure: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for variant, summary in figure["variants"].items():
        median, band = summary["median"], summary["band"]
        rows.append((
            name if not rows else "",
            variant,
            f"{_n(median['rate'])} {unit}",
            _band(band["rate"]),
            f"{_n(median['mb_per_s'])}" if median["mb_per_s"] else "-",
            f"{_n(median['cpu_us_per_item'])} ({_band(band['cpu_us_per_item'])})",
        ))  # fmt: skip
    return rows


def measurement_table(results: dict[str, Any]) -> Table:
    header = ("measurement", "variant", "median rate", "band (rounds)", "MB/s",
              "CPU µs per item (band)")  # fmt: skip
    rows: list[Row] = []
    for size, figure in results["ingest"].items():
        name = f"ingest {size} B, six clients ({figure['messages']:,} messages)"
        rows += _variant_rows(name, UNITS["ingest"], figure)
    roundtrip = results["roundtrip"]
    rows += _variant_rows(
        f'command("AT") round trip ({roundtrip["commands"]:,} commands)', UNITS["roundtrip"],
        roundtrip,
    )  # fmt: skip
    for key, figure in results["publish"].items():
        ideal = figure["ideal_rate"]
        name = f"{figure['clients']} clients publishing, {key}" + (
            f" (ideal {_n(ideal)}/s)" if ideal else " (the AT channel)"
        )
        rows += _variant_rows(name, UNITS["publish"], figure)
    return header, rows


def deployment_table(results: dict[str, Any]) -> Table:
    header = ("stream (paced by the responder)", "driver: CPU share of a core (band)",
              "µs/msg", "floor: CPU share (band)", "µs/msg", "driver / floor (band)",
              "delivered / paced (driver, floor)")  # fmt: skip
    rows: list[Row] = []
    judged = {t["target"]: t for t in results["targets"]}
    for name, figure in results["deployment"].items():
        driver, floor = figure["variants"]["driver"], figure["variants"]["floor"]
        target = judged.get(cpu_share_target(name))
        ratio = f"{target['ratio']:.2f} ({_band(target['band'], '.2f')})" if target else "-"
        paced = figure["bytes_per_s"] / 1e6
        rows.append((
            f"{name}: {figure['bytes_per_s']:,.0f} B/s as {figure['bytes_per_write']:,} B "
            f"every {figure['write_every_s'] * 1000:g} ms, {figure['messages']:,} messages",
            f"{_pct(driver['median']['cpu_share'])} "
            f"({_band([v * 100 for v in driver['band']['cpu_share']], '.2f')})",
            _n(driver["median"]["cpu_us_per_item"]),
            f"{_pct(floor['median']['cpu_share'])} "
            f"({_band([v * 100 for v in floor['band']['cpu_share']], '.2f')})",
            _n(floor["median"]["cpu_us_per_item"]),
            ratio,
            ", ".join(f"{v['median']['mb_per_s'] / paced:.3f}" for v in (driver, floor)),
        ))  # fmt: skip
    return header, rows


def _load(values: list[float]) -> str:
    return "/".join(f"{v:.2f}" for v in values)


def machine_line(results: dict[str, Any]) -> str:
    m = results["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    return (
        f"Machine: {m['cpu_model']}, {m['cpu_count']} CPUs, {m['platform']}; "
        f"{m['python_implementation']} {m['python']}, {m['event_loop']}; {packages}; "
        f"commit {str(m['commit'])[:10]}. {results['mode'].capitalize()} run, "
        f"{results['plan']['rounds']} rounds, {results['duration_s']:.0f} s; load average "
        f"{_load(m['load_average_at_start'])} at start, {_load(m['load_average_at_end'])} at end."
    )


def memory_line(results: dict[str, Any]) -> str:
    mem = results["memory"]
    return (
        f"Memory: {mem['messages']:,} messages of {mem['payload_bytes']} B queued on one "
        f"client hold {_n(mem['traced_per_message_bytes'])} B each "
        f"({_n(mem['overhead_per_message_bytes'])} B over the payload, tracemalloc); RSS "
        f"{_n(mem['rss_before_mb'])} -> {_n(mem['rss_after_mb'])} MB, "
        f"peak {_n(mem['rss_peak_mb'])} MB."
    )


def _tables(results: dict[str, Any]) -> list[tuple[str, Table]]:
    return [
        ("Targets", targets_table(results)),
        ("Measurements (median of the rounds; CPU = process CPU of the consumer per item)",
         measurement_table(results)),
        ("What a deployment pays: CPU share of one core while consuming a paced stream",
         deployment_table(results)),
    ]  # fmt: skip


def _markdown_table(table: Table) -> str:
    header, rows = table
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
    return "\n".join(lines)


def _console_table(table: Table) -> str:
    header, rows = table
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    head = "  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))
    return "\n".join([head, "-" * len(head), *lines])


def markdown(results: dict[str, Any]) -> str:
    parts = [machine_line(results)]
    parts += [f"**{title}**\n\n{_markdown_table(table)}" for title, table in _tables(results)]
    parts.append(memory_line(results))
    return "\n\n".join(parts)


def console(results: dict[str, Any]) -> str:
    parts = [f"{title}\n{_console_table(table)}" for title, table in _tables(results)]
    parts += [memory_line(results), machine_line(results)]
    return "\n\n".join(parts)
