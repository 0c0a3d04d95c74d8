"""What each device counted, and the table that ends the demo: what was published and
acknowledged, what arrived, how often each client reconnected, which faults happened."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from ...session import Session
from .faults import FaultLog
from .platform import Platform
from .view import View


@dataclass
class DeviceTally:
    acknowledged: set[int] = field(default_factory=set)
    """Sequence numbers of the telemetry the module acknowledged."""
    unknown: int = 0
    """Publishes that failed or timed out: they may or may not have been published."""
    commands: set[int] = field(default_factory=set)
    """Task ids of the downlink commands received."""
    round_trips: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class ClientEnd:
    """How a device's session stood when the run ended."""

    state: str
    reconnects: int
    dropped: int
    """Messages its full queue discarded."""

    @classmethod
    def of(cls, session: Session) -> ClientEnd:
        return cls(session.state.value, session.reconnects, session.client.dropped_messages)


def missing(tallies: list[DeviceTally], platform: Platform) -> tuple[int, int]:
    """Acknowledged telemetry the platform has not seen; commands sent but not received."""
    return platform.missing([t.acknowledged for t in tallies], [t.commands for t in tallies])


def summary(
    view: View,
    tallies: list[DeviceTally],
    platform: Platform,
    ends: list[ClientEnd],
    reboots: int,
    faults: FaultLog | None,
) -> int:
    """Print the table; 0 when every acknowledged message and every command arrived."""
    view.plain("")
    view.plain(
        f"{'client':>6}  {'state':<11} {'telemetry':>9} {'seen':>5} {'commands':>8} "
        f"{'received':>8} {'reconnects':>10} {'median ms':>9} {'dropped':>7}"
    )
    for index, (tally, end) in enumerate(zip(tallies, ends, strict=True)):
        sent = {task for task, (device, _) in platform.sent_at.items() if device == index}
        seen = sum((index, seq) in platform.seen for seq in tally.acknowledged)
        median = statistics.median(tally.round_trips) * 1000 if tally.round_trips else 0.0
        view.plain(
            f"{index:>6}  {end.state:<11} {len(tally.acknowledged):>9} {seen:>5} "
            f"{len(sent):>8} {len(tally.commands & sent):>8} {end.reconnects:>10} "
            f"{median:>9.1f} {end.dropped:>7}"
        )
    acknowledged = sum(len(t.acknowledged) for t in tallies)
    unknown = sum(t.unknown for t in tallies)
    lost_telemetry, lost_commands = missing(tallies, platform)
    commands = len(platform.sent_at)
    view.plain(
        f"telemetry published (acknowledged): {acknowledged}, seen by the platform: "
        f"{acknowledged - lost_telemetry}; commands sent: {commands}, received: "
        f"{commands - lost_commands}"
    )
    if unknown:
        view.plain(f"publishes with an unknown outcome (failed or timed out): {unknown}")
    if faults is not None:
        injected = ", ".join(f"{name} {count}" for name, count in faults.injected.items())
        view.plain(f"faults injected: {injected}; module reboots seen by the driver: {reboots}")
        recovered = ", ".join(f"{name} {s:.2f} s" for name, s in faults.recovered.items())
        view.plain(f"every client connected again after: {recovered or 'no fault'}")
    problems = []
    if not acknowledged or not commands or lost_telemetry or lost_commands:
        problems.append("MESSAGES MISSING")
    if faults is not None and len(faults.recovered) < sum(faults.injected.values()):
        problems.append("A CLIENT DID NOT RECOVER")
    survived = " and every client survived every fault" if faults and faults.recovered else ""
    view.plain("result: " + ("; ".join(problems) or f"every message arrived{survived}"))
    return 1 if problems else 0
