"""The faults of the demo: a broker restart, lost coverage, a module reboot and a dropped
link, each at its
moment of the run, each followed by a wait until every client it cut off is connected again.

Supervised sessions do the recovering; this only injects and watches. Where the broker keeps
nothing for a client that is away (the embedded broker, or one we cannot tell about), a
message on its way to a client at the moment of the fault would be lost by the broker, not by
the driver: there, publishers are held between two messages while a fault is injected, and
everything on its way is let arrive first.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from ...session import LinkState, Session
from ...sim import VirtualModem
from .brokers import DemoBroker
from .view import Kind, View

BROKER_OUTAGE = 1.5
"""Seconds the broker stays down."""
COVERAGE_OUTAGE = 2.0
"""Seconds without coverage: the sessions wait (no network), sending nothing."""
RECOVERY_LIMIT = 20.0
"""Seconds every client may take to be connected again after a fault."""
QUIET_LIMIT = 5.0
"""Seconds to wait for what is on its way before a fault, where the broker would lose it."""
DROPPED_CLIENT = 2
PLAN = (
    (0.15, "broker restart"),
    (0.35, "coverage loss"),
    (0.55, "module reboot"),
    (0.75, "dropped link"),
)
"""Each fault and when it comes, as a fraction of the run."""


class Gate:
    """Lets publishers through, or holds them between two publishes."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self.busy = 0
        """Publishes under way."""

    @asynccontextmanager
    async def passage(self) -> AsyncIterator[None]:
        await self._open.wait()
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()


@dataclass
class FaultLog:
    injected: dict[str, int] = field(default_factory=lambda: {name: 0 for _, name in PLAN})
    recovered: dict[str, float] = field(default_factory=dict)
    """Seconds from each fault's end until every client was connected again."""


@dataclass
class Stage:
    """What the faults act on and watch."""

    broker: DemoBroker
    sim: VirtualModem
    sessions: list[Session]
    platform_connected: Callable[[], bool]
    settled: Callable[[], bool]
    """Whether every message on its way has arrived."""
    gate: Gate
    view: View


async def run_faults(stage: Stage, duration: float) -> FaultLog:
    """Inject each fault of PLAN at its moment, then let the run go on to `duration`."""
    log = FaultLog()
    started = time.monotonic()
    for fraction, name in PLAN:
        await asyncio.sleep(max(0.0, started + fraction * duration - time.monotonic()))
        why_not = _cannot(stage, name)
        if why_not:
            stage.view.line("fault", "-", f"{name}: skipped ({why_not})", Kind.FAULT)
            continue
        affected = stage.sessions if name != "dropped link" else [stage.sessions[DROPPED_CLIENT]]
        before = {session: session.reconnects for session in affected}
        if not stage.broker.keeps_sessions:
            stage.gate.hold()
            await until(lambda: stage.gate.busy == 0 and stage.settled(), QUIET_LIMIT)
        try:
            injected = await _inject(stage, name)
        finally:
            stage.gate.release()
        if not injected:
            stage.view.line("fault", "-", f"{name}: skipped (client {DROPPED_CLIENT} had no "
                            "link to cut)", Kind.FAULT)  # fmt: skip
            continue
        log.injected[name] += 1
        ended = time.monotonic()
        if await until(functools.partial(_recovered, stage, before), RECOVERY_LIMIT):
            log.recovered[name] = time.monotonic() - ended
            clients = "every client" if len(affected) > 1 else f"client {DROPPED_CLIENT}"
            stage.view.line(
                "fault", "✓", f"{name}: {clients} connected again after "
                f"{log.recovered[name]:.2f} s", Kind.GOOD,
            )  # fmt: skip
        else:
            stage.view.line("fault", "✗", f"{name}: not recovered within {RECOVERY_LIMIT:g} s",
                            Kind.FAULT)  # fmt: skip
    await asyncio.sleep(max(0.0, started + duration - time.monotonic()))
    return log


def _recovered(stage: Stage, before: dict[Session, int]) -> bool:
    """Whether the platform and each session cut off (with its reconnect count before the
    fault) are connected again."""
    return stage.platform_connected() and all(
        s.reconnects > count and s.state is LinkState.CONNECTED for s, count in before.items()
    )


def _cannot(stage: Stage, name: str) -> str:
    if name != "broker restart" or stage.broker.mosquitto is not None:
        return ""
    if stage.broker.kind == "yours":
        return "the demo does not restart your broker"
    return "it needs mosquitto, which keeps sessions across a restart; the embedded broker does not"


async def _inject(stage: Stage, name: str) -> bool:
    """Inject the fault; False if there was nothing to inject it into."""
    view = stage.view
    if name == "broker restart":
        mosquitto = stage.broker.mosquitto
        assert mosquitto is not None
        view.line("fault", "⚡", "broker restart: mosquitto stopped (it saves its sessions)",
                  Kind.FAULT)  # fmt: skip
        await asyncio.to_thread(mosquitto.stop)
        await asyncio.sleep(BROKER_OUTAGE)
        await asyncio.to_thread(mosquitto.start)
        view.line("fault", "⚡", f"broker restart: mosquitto back after {BROKER_OUTAGE:g} s, "
                  "with the sessions it saved", Kind.FAULT)  # fmt: skip
    elif name == "coverage loss":
        view.line("fault", "⚡", "coverage loss: the virtual NM28 loses the network "
                  "(searching); sessions wait for it", Kind.FAULT)  # fmt: skip
        stage.sim.set_coverage(False)
        await asyncio.sleep(COVERAGE_OUTAGE)
        stage.sim.set_coverage(True)
        view.line("fault", "⚡", f"coverage loss: the network is back after {COVERAGE_OUTAGE:g} s",
                  Kind.FAULT)  # fmt: skip
    elif name == "module reboot":
        view.line("fault", "⚡", "module reboot: the virtual NM28 resets, as at power-on",
                  Kind.FAULT)  # fmt: skip
        await stage.sim.reboot()
    else:
        view.line("fault", "⚡", f"dropped link: client {DROPPED_CLIENT}'s TCP link to the broker "
                  "is cut", Kind.FAULT)  # fmt: skip
        return stage.sim.drop_link(DROPPED_CLIENT)
    return True


async def until(predicate: Callable[[], bool], limit: float) -> bool:
    """Whether `predicate` came true within `limit` seconds."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True
