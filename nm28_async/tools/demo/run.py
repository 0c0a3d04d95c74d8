"""`nm28 demo`: six devices on one virtual NM28 publish telemetry and act on CTWing-style
downlink commands sent by a platform-side MQTT client, live in the terminal, through a broker
restart, lost coverage, a module reboot and a dropped link.

The broker is yours (`--broker`), else a mosquitto the demo starts (and restarts), else the
embedded one; the rest runs in this process: the virtual modem on a pty, the driver on that pty
with a supervised session per device, and a paho-mqtt client standing in for the IoT platform.

The summary counts what really happened: a telemetry message counts as sent once the module
acknowledged it, and as seen once the platform received it. Publishers are stopped between
publishes, never in the middle of one, since a cancelled publish may still be delivered.
"""

from __future__ import annotations

import json
import ssl
import sys
import time
from contextlib import AsyncExitStack
from typing import Any, TextIO

import anyio

from ...errors import Nm28Error, Nm28TimeoutError
from ...modem import Modem
from ...network import NetworkMonitor, Recovery
from ...platforms import ctwing
from ...protocol import limits
from ...protocol.broker_url import BrokerUrl
from ...session import Backoff, LinkState, Session
from .brokers import demo_broker
from .faults import Gate, Stage, run_faults, until
from .platform import COMMANDS, TELEMETRY, Platform
from .summary import ClientEnd, DeviceTally, missing, summary
from .view import Kind, View

BACKOFF = Backoff(initial=0.25, maximum=1.0)
"""Reconnect soon: a demo's outages are short."""
POLL_INTERVAL = 5.0
"""A lost link shows first in a failing publish; the `AT+MQTTCONN?` poll is the backstop."""
RECOVERY = Recovery(registration_poll=5.0)
"""No attempt while the module has no network; the registration URC brings the sessions back."""
PUBLISH_TIMEOUT = 30.0
CONNECT_LIMIT = 10.0
SETTLE_LIMIT = 10.0
"""Seconds, after the last publish, for the last messages and commands to arrive."""
_MARKS = {
    LinkState.CONNECTED: "●",
    LinkState.CONNECTING: "◐",
    LinkState.BACKING_OFF: "○",
    LinkState.NO_NETWORK: "⊘",
    LinkState.RECOVERING: "↻",
    LinkState.CLOSED: "·",
}


async def run_demo(
    *,
    broker: BrokerUrl | None,
    duration: float,
    interval: float,
    faults: bool,
    out: TextIO = sys.stdout,
) -> int:
    """Run the demo; return a process exit code (0 when every acknowledged message and every
    command arrived, and every client recovered from every fault). ConnectionError if the
    broker cannot be used."""
    from ...sim import VirtualModem  # the sim's extra dependencies only when it runs

    view = View(out)
    tallies = [DeviceTally() for _ in limits.CLIENT_INDEXES]
    async with AsyncExitStack() as stack:
        stack.callback(view.close)
        where = await stack.enter_async_context(demo_broker(broker))
        url = where.url
        view.note(f"broker {url} ({where.kind})")
        view.note(f"watch along: {where.watch_command('devices/#')}")
        platform = Platform(url, persistent=where.keeps_sessions)
        stack.callback(platform.stop)
        await platform.start()
        view.note(f"platform subscribed to {TELEMETRY.format('+')}")
        tls = {0: ssl.create_default_context()} if url.tls else None
        over_tls: dict[str, Any] = {"ssl": True, "ssl_ctx": 0} if url.tls else {}
        sim = await stack.enter_async_context(
            VirtualModem(broker=f"mqtt://{url.address}", tls_contexts=tls)
        )
        path = await sim.serve_pty()
        view.note(f"virtual NM28 on {path}; the driver's AT exchange follows")
        with view.wire():
            async with Modem.open(path, command_timeout=5.0) as modem, AsyncExitStack() as own:
                sessions = [
                    await own.enter_async_context(
                        modem.session(
                            index, url.host, url.port, client_id=f"demo-device-{index}",
                            username=url.username, password=url.password, keepalive=60,
                            clean_session=not where.keeps_sessions, backoff=BACKOFF,
                            poll_interval=POLL_INTERVAL, publish_timeout=PUBLISH_TIMEOUT,
                            recovery=RECOVERY, **over_tls,
                        )
                    )
                    for index in limits.CLIENT_INDEXES
                ]  # fmt: skip
                radio = ["registered"]
                view.status = lambda: _status(sessions, tallies, platform, radio[0])
                gate = Gate()
                stage = Stage(where, sim, sessions, lambda: platform.connected,
                              lambda: missing(tallies, platform) == (0, 0), gate, view)  # fmt: skip
                reasons: dict[int, str] = {}
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(_show_radio, modem.network, radio, view)
                    for session in sessions:
                        tasks.start_soon(_show_states, session, view, reasons)
                    for session, tally in zip(sessions, tallies, strict=True):
                        await _connected(session, reasons)
                        await session.subscribe(COMMANDS.format(session.client.index), qos=1)
                        tasks.start_soon(_listen, session, tally, platform, view)
                    stop = anyio.Event()
                    async with anyio.create_task_group() as publishers:
                        for session, tally in zip(sessions, tallies, strict=True):
                            publishers.start_soon(_publish, session, tally, interval, stop, gate,
                                                  view)  # fmt: skip
                        log = await run_faults(stage, duration) if faults else None
                        if not faults:
                            await anyio.sleep(duration)
                        stop.set()  # each publisher ends after the publish it is in
                    await until(lambda: missing(tallies, platform) == (0, 0), SETTLE_LIMIT)
                    tasks.cancel_scope.cancel()
                ends = [ClientEnd.of(session) for session in sessions]
                reboots = modem.reboots
        view.close()
        return summary(view, tallies, platform, ends, reboots, log)


async def _publish(
    session: Session,
    tally: DeviceTally,
    interval: float,
    stop: anyio.Event,
    gate: Gate,
    view: View,
) -> None:
    index = session.client.index
    seq = 0
    while not stop.is_set():
        async with gate.passage():
            seq += 1
            reading = {"seq": seq, "temperature": round(20 + index + seq * 0.1, 1)}
            text = json.dumps(reading)
            try:
                await session.publish(TELEMETRY.format(index), text, qos=1)
            except Nm28Error as exc:
                tally.unknown += 1
                view.line(f"dev{index}", "✗", f"telemetry {seq}: {exc} (it may still arrive)",
                          Kind.FAULT)  # fmt: skip
            else:
                tally.acknowledged.add(seq)
                view.line(f"dev{index}", "↑", text, Kind.UP)
        with anyio.move_on_after(interval):
            await stop.wait()


async def _listen(session: Session, tally: DeviceTally, platform: Platform, view: View) -> None:
    index = session.client.index
    async for message in session.messages():
        try:
            downlink = ctwing.parse_downlink(message.payload)
        except ValueError as exc:
            view.line(f"dev{index}", "↓", f"unreadable command: {exc}", Kind.FAULT)
            continue
        if downlink.task_id in tally.commands:
            continue  # a QoS 1 redelivery
        tally.commands.add(downlink.task_id)
        sent = platform.sent_at.get(downlink.task_id)
        took = ""
        if sent is not None:
            tally.round_trips.append(time.monotonic() - sent[1])
            took = f" ({tally.round_trips[-1] * 1000:.0f} ms from the platform)"
        command = json.dumps({"taskId": downlink.task_id, "payload": downlink.payload})
        view.line(f"dev{index}", "↓", f"command {command}{took}", Kind.DOWN)


async def _show_states(session: Session, view: View, reasons: dict[int, str]) -> None:
    """Show each state change, and keep the reason of the last attempt that ended for
    `_connected` (not "connecting": the deadline may fall while an attempt runs)."""
    async for change in session.states():
        state = change.state.value
        if change.state is not LinkState.CONNECTING:
            reasons[session.client.index] = change.reason
        text = state if change.reason == state else f"{state}: {change.reason}"
        view.line(f"dev{session.client.index}", _MARKS[change.state], text, Kind.STATE)


async def _connected(session: Session, reasons: dict[int, str]) -> None:
    """Wait for the session's first connection; a device that cannot connect at all (refused,
    no broker) ends the demo, with the reason of its last attempt."""
    try:
        await session.wait_connected(CONNECT_LIMIT)
    except Nm28TimeoutError:
        index = session.client.index
        raise Nm28Error(
            f"client {index} could not connect within {CONNECT_LIMIT:g} s: "
            f"{reasons.get(index, 'its first attempt has not ended')}"
        ) from None


async def _show_radio(network: NetworkMonitor, radio: list[str], view: View) -> None:
    """Show each registration change, and keep the latest for the status line."""
    async for change in network.changes():
        radio[0] = change.registration.name.lower().replace("_", " ")
        mark = "●" if change.registration.registered else "⊘"
        view.line("radio", mark, f"{change.domain}: {change.registration.value}", Kind.STATE)


def _status(
    sessions: list[Session], tallies: list[DeviceTally], platform: Platform, radio: str
) -> str:
    """The status line: the radio, each client's state, what went up and came down so far."""
    marks = " ".join(f"{s.client.index}{_MARKS[s.state]}" for s in sessions)
    up = sum(len(t.acknowledged) for t in tallies)
    down = sum(len(t.commands) for t in tallies)
    return (
        f"radio {radio} │ clients {marks} │ telemetry {up} │ "
        f"commands {down}/{len(platform.sent_at)}"
    )
