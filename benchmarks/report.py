"""The headline figures as rows: printed as a console table and as a README markdown table."""

from __future__ import annotations

from typing import Any

Row = tuple[str, str, str, str, str]
HEADER: Row = ("measurement", "driver", "baseline", "ratio", "target")
Target = tuple[str, str, str, str, str]
TARGET_HEADER: Target = ("target (issue)", "compared", "ratio", "threshold", "verdict")


def _n(value: float, unit: str = "") -> str:
    if value >= 100:
        text = f"{value:,.0f}"
    elif value >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def _verdict(ratio: float, threshold: float) -> str:
    return "holds" if ratio >= threshold else "misses"


def _six(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((p for p in points if p["clients"] == 6), key=lambda p: p["latency_s"])


def targets(results: dict[str, Any]) -> list[Target]:
    """Each target of the issue: what is compared, the ratio, the threshold, the verdict."""
    out: list[Target] = []
    ingest = results["ingest"]
    if "64" in ingest:
        ratio = ingest["64"]["driver_vs_readuntil"]
        out.append(("ingest 64 B >= readuntil rate", "driver / readuntil msg/s",
                    f"{ratio:.3f}", ">= 1.0", _verdict(ratio, 1.0)))
    if "2048" in ingest:
        ratio = ingest["2048"]["driver_vs_pipe"]
        out.append(("ingest 2048 B >= 0.9 of pipe", "driver / pipe MB/s",
                    f"{ratio:.3f}", ">= 0.9", _verdict(ratio, 0.9)))
    ratio = results["roundtrip"]["bare_time_over_driver_time"]
    out.append(('command("AT") round trip', "bare time / driver time",
                f"{ratio:.3f}", ">= 0.9", _verdict(ratio, 0.9)))
    cc = results["concurrency"]
    for point in _six(cc["after_ok"]):
        ratio = point["ratio_to_bound"]
        out.append((f"6 clients, result after OK, L={point['latency_s'] * 1000:g} ms",
                    "driver / bound (bare host, same sim)", f"{ratio:.3f}", ">= 0.95",
                    _verdict(ratio, 0.95)))
    for point in cc["before_ok"]:
        ratio = point["ratio_to_bound"]
        out.append((f"6 clients, result before OK, L={point['latency_s'] * 1000:g} ms",
                    "driver / bound (bare host, same sim)", f"{ratio:.3f}", ">= 0.95",
                    _verdict(ratio, 0.95)))
    for baud, row in results["pacing"].items():
        ratio = row["driver_share"] / row["pipe_share"]
        out.append((f"UART share at {baud} baud",
                    f"driver share {row['driver_share']:.3f}, pipe share "
                    f"{row['pipe_share']:.3f} of baud/10; driver / pipe",
                    f"{ratio:.3f}", "~1.0 (>= 0.95)", _verdict(ratio, 0.95)))
    return out


def rows(results: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    for size, row in results["ingest"].items():
        driver, pipe, readuntil = row["driver"], row["pipe"], row["readuntil"]
        target = {"64": ">= 1.0 (readuntil)", "2048": ">= 0.9 (pipe)"}.get(size, "")
        base, ratio = (pipe, row["driver_vs_pipe"]) if size == "2048" else (
            readuntil, row["driver_vs_readuntil"])
        name = "pipe" if size == "2048" else "readuntil"
        out.append((
            f"ingest {size} B, 6 clients",
            f"{_n(driver['rate'], 'msg/s')}, {_n(driver['mb_per_s'], 'MB/s')}, "
            f"{_n(driver['cpu_us_per_item'], 'µs CPU/msg')}",
            f"{name} {_n(base['rate'], 'msg/s')}, {_n(base['mb_per_s'], 'MB/s')}; "
            + (f"readuntil {_n(readuntil['rate'], 'msg/s')}" if size == "2048"
               else f"pipe {_n(pipe['rate'], 'msg/s')}"),
            f"{ratio:.2f}",
            target,
        ))
    reference = results.get("reference_read", {})
    for size, row in reference.items():
        if size == "read_size":
            continue
        driver = row["driver"]
        out.append((
            f"ingest {size} B, pyserial-asyncio default {reference['read_size']} B reads "
            "(reference)",
            f"{_n(driver['rate'], 'msg/s')}, {_n(driver['mb_per_s'], 'MB/s')}",
            f"pipe {_n(row['pipe']['rate'], 'msg/s')}, {_n(row['pipe']['mb_per_s'], 'MB/s')}; "
            f"readuntil {_n(row['readuntil']['rate'], 'msg/s')}",
            f"{row['driver_vs_pipe']:.2f}",
            "vs pipe",
        ))
    rt = results["roundtrip"]
    out.append((
        'command("AT") round trip',
        f"{_n(rt['driver']['rate'], '/s')}, {_n(rt['driver']['cpu_us_per_item'], 'µs CPU')}",
        f"bare {_n(rt['bare']['rate'], '/s')}, {_n(rt['bare']['cpu_us_per_item'], 'µs CPU')}",
        f"{rt['bare_time_over_driver_time']:.2f}",
        ">= 0.9 (bare/driver time)",
    ))
    ch = results["channel"]
    out.append((
        "publish, AT channel saturated (responder, L=0, 6 clients)",
        _n(ch["channel_driver_6_clients"]["rate"], "pub/s"),
        f"bare exchange {_n(ch['channel_bare']['rate'], 'pub/s')}",
        f"{ch['driver_channel_share']:.2f}",
        "",
    ))
    cc = results["concurrency"]
    for point in _six(cc["after_ok"]):
        out.append((
            f"sim: publish, 6 clients, result after OK, L={point['latency_s'] * 1000:g} ms",
            f"{_n(point['rate'], 'pub/s')}, {_n(point['cpu_us_per_publish'], 'µs CPU')}",
            f"bound {_n(point['bound'], 'pub/s')} (ideal 6/L {_n(point['ideal'])})",
            f"{point['ratio_to_bound']:.2f} ({point['ratio_to_ideal']:.2f})",
            ">= 0.95 of bound",
        ))
    for point in cc["before_ok"]:
        out.append((
            f"sim: publish, 6 clients, result before OK, L={point['latency_s'] * 1000:g} ms",
            f"{_n(point['rate'], 'pub/s')}, {_n(point['cpu_us_per_publish'], 'µs CPU')}",
            f"bound {_n(point['bound'], 'pub/s')} (ideal 1/L {_n(point['ideal'])})",
            f"{point['ratio_to_bound']:.2f} ({point['ratio_to_ideal']:.2f})",
            ">= 0.95 of bound",
        ))
    for baud, row in results["pacing"].items():
        out.append((
            f"sim: ingest {row['payload_bytes']} B at {baud} baud",
            f"{_n(row['driver']['rate'], 'msg/s')}, share {row['driver_share']:.3f}",
            f"line {_n(row['line_rate_bytes_per_s'], 'B/s')}; pipe share {row['pipe_share']:.3f}",
            f"{row['driver_share'] / row['pipe_share']:.3f}",
            "~1.0 (driver / pipe)",
        ))
    mem = results["memory"]
    out.append((
        f"memory, {mem['messages']:,} x {mem['payload_bytes']} B queued on one client",
        f"{_n(mem['traced_per_message_bytes'], 'B/msg')} "
        f"({_n(mem['overhead_per_message_bytes'], 'B')} overhead)",
        f"RSS {_n(mem['rss_before_mb'], 'MB')} -> {_n(mem['rss_after_mb'], 'MB')}, "
        f"peak {_n(mem['rss_peak_mb'], 'MB')}",
        "",
        "",
    ))
    for name, row in results["peer"].items():
        peer = row["peer"]
        out.append((
            f"peer: thread + call_soon_threadsafe ({name.replace('_', ', ')} B)",
            f"ours {_n(row['driver_rate'], 'msg/s')}, "
            f"{_n(row['driver_cpu_us_per_item'], 'µs CPU/msg')}",
            f"peer {_n(peer['rate'], 'msg/s')}, {_n(peer['cpu_us_per_item'], 'µs CPU/msg')}",
            f"{row['driver_vs_peer']:.2f}",
            "ours / peer",
        ))
    return out


def console(table: list[Row], header: Row = HEADER) -> str:
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in table]
    head = "  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True))
    return "\n".join([head, "-" * len(head), *lines])


def markdown(table: list[Row], header: Row = HEADER) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in table]
    return "\n".join(lines)
