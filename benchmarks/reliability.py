"""Reliability figures: `python -m benchmarks.reliability [--out benchmarks/results]`.

Runs each fault once (virtual NM28 on a pty, driver with supervised sessions, mosquitto where
installed, else the embedded broker where the scenario allows), prints a markdown table and
writes `reliability.json`. A paho-mqtt client on the broker counts what really arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

import nm28_async as nm
from nm28_async.session import Backoff, LinkState, Session
from nm28_async.sim import EmbeddedBroker, VirtualModem
from nm28_async.tools.mosquitto import Mosquitto, find_program, free_port

BACKOFF = Backoff(initial=0.05, maximum=0.5)


@dataclass
class Figures:
    fault: str
    driver: str
    sent: int
    received: int
    lost: int
    recovery_s: float | None
    broker: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def counted(
        cls,
        fault: str,
        driver: str,
        sent: list[bytes],
        received: set[bytes],
        recovery_s: float | None,
        broker: Broker,
        extra: dict[str, Any],
    ) -> Figures:
        """Figures whose sent/received/lost are counted from the payloads sent and received."""
        return cls(
            fault, driver, len(sent), len(set(sent) & received), len(set(sent) - received),
            recovery_s, broker.kind, extra,
        )  # fmt: skip


class Broker:
    """mosquitto on a fixed loopback port (restartable, persistent), or the embedded broker."""

    def __init__(self, folder: Path, prefer_mosquitto: bool = True) -> None:
        binary = find_program("mosquitto") if prefer_mosquitto else None
        self.host = "127.0.0.1"
        self.port = free_port()
        self._mosquitto = (
            None if binary is None else Mosquitto(binary, folder, port=self.port, persistence=True)
        )
        self._embedded: EmbeddedBroker | None = None

    @property
    def kind(self) -> str:
        return "mosquitto" if self._mosquitto is not None else "embedded (amqtt)"

    @property
    def restartable(self) -> bool:
        """Only mosquitto keeps the sessions across a restart."""
        return self._mosquitto is not None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        if self._mosquitto is not None:
            await asyncio.to_thread(self._mosquitto.start)
            return
        self._embedded = EmbeddedBroker(self.host, self.port)
        await self._embedded.start()

    async def stop(self) -> None:
        if self._mosquitto is not None:
            await asyncio.to_thread(self._mosquitto.stop)
        if self._embedded is not None:
            await self._embedded.stop()
            self._embedded = None


class Counter:
    """A paho subscriber (QoS 1) on the broker: the far end that counts what arrived."""

    def __init__(self, broker: Broker, topic: str) -> None:
        self.payloads: set[bytes] = set()
        self.total = 0
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"counter-{topic}")
        self._client.on_connect = lambda c, *_: c.subscribe(topic, 1)
        self._client.on_subscribe = lambda *_: self._ready.set()
        self._client.on_message = self._on_message
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()
        if not self._ready.wait(5):
            raise RuntimeError("counter did not subscribe")

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.total += 1
            self.payloads.add(bytes(message.payload))

    async def wait_for(self, expected: set[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        # paho fills `payloads` from its own thread: poll
        while time.monotonic() < deadline and not expected <= self.payloads:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@asynccontextmanager
async def counted_broker(folder: Path, topic: str) -> AsyncIterator[tuple[Broker, Counter]]:
    """A started broker with a `Counter` on `topic`; both stopped on exit."""
    broker = Broker(folder)
    await broker.start()
    counter = Counter(broker, topic)
    try:
        yield broker, counter
    finally:
        counter.close()
        await broker.stop()


@asynccontextmanager
async def rig(
    broker: Broker, indexes: range, prefix: str, outbox_size: int = 100, **sim_knobs: Any
) -> AsyncIterator[tuple[VirtualModem, nm.Modem, list[Session]]]:
    async with AsyncExitStack() as stack:
        sim = await stack.enter_async_context(VirtualModem(broker.url, **sim_knobs))
        modem = await stack.enter_async_context(nm.Modem.open(await sim.serve_pty()))
        sessions = [
            await stack.enter_async_context(
                modem.session(
                    i, broker.host, broker.port, client_id=f"{prefix}-{i}", backoff=BACKOFF,
                    poll_interval=0.3, publish_timeout=30, outbox_size=outbox_size,
                )
            )
            for i in indexes
        ]  # fmt: skip
        for session in sessions:
            await session.wait_connected(10)
        yield sim, modem, sessions


async def until(predicate: Callable[[], bool], timeout: float = 15) -> float:
    started = time.monotonic()
    while not predicate() and time.monotonic() - started < timeout:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    return time.monotonic() - started


async def stream(
    session: Session, topic: str, tag: str, count: int, interval: float, sent: list[bytes]
) -> list[BaseException | int]:
    """`count` QoS 1 publishes, one started every `interval` s, each waiting for the link."""
    tasks = []
    for n in range(count):
        payload = f"{tag}-{n:04d}".encode()
        sent.append(payload)
        tasks.append(asyncio.create_task(session.publish(topic, payload, qos=1)))
        await asyncio.sleep(interval)
    return list(await asyncio.gather(*tasks, return_exceptions=True))


# --- scenarios ----------------------------------------------------------------------------


async def broker_restart(folder: Path) -> Figures:
    broker = Broker(folder)
    if not broker.restartable:
        return Figures("broker killed and restarted", "n/a (needs mosquitto)", 0, 0, 0, None, "-")
    await broker.start()
    try:
        async with rig(broker, range(2), "restart", outbox_size=1000) as (
            _sim,
            _modem,
            (sender, receiver),
        ):
            await receiver.client.configure(clean_session=False)
            # re-applied on every reconnect
            receiver.params = receiver.params.with_settings(clean_session=False)
            receiver.link_lost("switch to a persistent session")
            await until(lambda: receiver.reconnects == 1 and receiver.state is LinkState.CONNECTED)
            await receiver.subscribe("rel/restart", qos=1)
            received: set[bytes] = set()

            async def consume() -> None:
                async for message in receiver.messages():
                    received.add(message.payload)

            consumer = asyncio.create_task(consume())
            sent: list[bytes] = []
            publishing = asyncio.create_task(stream(sender, "rel/restart", "r", 200, 0.01, sent))
            await asyncio.sleep(0.6)
            await broker.stop()
            down = time.monotonic()
            await asyncio.sleep(1.0)
            await broker.start()
            up = time.monotonic()
            recovery = await until(
                lambda: (
                    sender.state is LinkState.CONNECTED and receiver.state is LinkState.CONNECTED
                )
            )
            results = await publishing
            await until(lambda: set(sent) <= received, 15)
            consumer.cancel()
            failed = sum(isinstance(r, BaseException) for r in results)
            return Figures.counted(
                "broker killed mid-stream, restarted after 1 s",
                "publishes wait in the outbox; both sessions reconnect with backoff; "
                "clean_session 0 + persistent broker session replays the backlog",
                sent, received, recovery, broker,
                {"outage_s": round(up - down, 3), "publishes_raised": failed,
                 "duplicates": "QoS 1 redelivery is counted once"},
            )  # fmt: skip
    finally:
        await broker.stop()


async def module_reboot(folder: Path) -> Figures:
    async with (
        counted_broker(folder, "rel/reboot/#") as (broker, counter),
        rig(broker, range(6), "reboot") as (sim, modem, sessions),
    ):
        sent: list[bytes] = []
        streams = [
            asyncio.create_task(stream(s, f"rel/reboot/{s.client.index}", f"b{s.client.index}",
                                       40, 0.02, sent))
            for s in sessions
        ]  # fmt: skip
        await asyncio.sleep(0.3)
        rebooted = time.monotonic()
        await sim.reboot()
        recovery = await until(lambda: all(s.reconnects == 1 for s in sessions) and all(
            s.state is LinkState.CONNECTED for s in sessions))  # fmt: skip
        results = [r for task in streams for r in await task]
        await counter.wait_for(set(sent), 10)
        return Figures.counted(
            "module reboot mid-command (6 clients streaming)",
            "command in flight fails with ModuleRebootedError; AT/ATE0 resync; "
            "all six sessions reconfigured, reopened, reconnected, resubscribed",
            sent, counter.payloads, recovery, broker,
            {"publishes_raised": sum(isinstance(r, BaseException) for r in results),
             "reboots_seen": modem.reboots, "since_reboot_s": time.monotonic() - rebooted},
        )  # fmt: skip


async def link_drop(folder: Path) -> Figures:
    async with (
        counted_broker(folder, "rel/drop/#") as (broker, counter),
        rig(broker, range(6), "drop") as (sim, _modem, sessions),
    ):
        sent: list[bytes] = []
        latencies: dict[int, list[float]] = {s.client.index: [] for s in sessions}

        async def timed(session: Session, n: int) -> None:
            payload = f"d{session.client.index}-{n:04d}".encode()
            sent.append(payload)
            started = time.monotonic()
            await session.publish(f"rel/drop/{session.client.index}", payload, qos=1)
            latencies[session.client.index].append(time.monotonic() - started)

        async def run(session: Session) -> None:
            async with asyncio.TaskGroup() as tg:
                for n in range(50):
                    tg.create_task(timed(session, n))
                    await asyncio.sleep(0.02)

        async with asyncio.TaskGroup() as tg:
            for session in sessions:
                tg.create_task(run(session))
            await asyncio.sleep(0.4)
            sim.drop_link(2)
            dropped = time.monotonic()
            recovery = await until(
                lambda: sessions[2].reconnects == 1 and sessions[2].state is LinkState.CONNECTED
            )
        await counter.wait_for(set(sent), 10)
        others = [max(latencies[s.client.index]) for s in sessions if s.client.index != 2]
        return Figures.counted(
            "TCP link of 1 of 6 clients cut",
            "lost link found by the failing publish; that client closes, reopens, "
            "reconnects; its publishes retry; the other five carry on",
            sent, counter.payloads, recovery, broker,
            {"other_clients_max_publish_latency_s": round(max(others), 4),
             "other_clients_reconnects": sum(s.reconnects for s in sessions) - 1,
             "since_drop_s": round(time.monotonic() - dropped, 3)},
        )  # fmt: skip


async def noise(folder: Path) -> Figures:
    async with (
        counted_broker(folder, "rel/noise/#") as (broker, counter),
        rig(broker, range(2), "noise", noise_interval=0.002) as (sim, modem, sessions),
    ):
        sent: list[bytes] = []
        for n in range(300):
            if n % 10 == 0:
                sim.inject(b'\r\n+XYZURC: 1,"q"\r\n\xfe\xff\x00garbage\r\n')
            payload = f"n-{n:04d}".encode()
            sent.append(payload)
            await sessions[n % 2].publish(f"rel/noise/{n % 2}", payload, qos=1)
        await counter.wait_for(set(sent), 10)
        return Figures.counted(
            "noise: unknown URCs and binary junk every 2 ms, plus injected lines",
            "junk skipped and counted, unknown URCs surfaced on urcs(); no command "
            "confused, no reconnect",
            sent, counter.payloads, None, broker,
            {"garbage_lines": modem.statistics.garbage,
             "reconnects": sum(s.reconnects for s in sessions)},
        )  # fmt: skip


async def flood(folder: Path, total: int = 100_000, queue: int = 1000) -> Figures:
    line = b"\r\n+MQTTRECV: 5,%d,flood/t,16,%016d\r\n"
    async with (
        counted_broker(folder, "rel/calm") as (broker, counter),
        rig(broker, range(1), "flood") as (sim, modem, (session,)),
    ):
        flooded = modem.client(5)
        sent: list[bytes] = []

        async def round_trip() -> float:
            payload = f"c-{len(sent):05d}".encode()
            sent.append(payload)
            started = time.monotonic()
            await session.publish("rel/calm", payload, qos=1)
            return time.monotonic() - started

        baseline = [await round_trip() for _ in range(30)]

        async def inject() -> None:
            for start in range(0, total, 500):
                sim.inject(b"".join(line % (i % 65535 + 1, i) for i in range(start, start + 500)))
                await asyncio.sleep(0.002)

        started = time.monotonic()
        injecting = asyncio.create_task(inject())
        during: list[float] = []
        while not injecting.done():
            during.append(await round_trip())
        await injecting
        await until(lambda: flooded.dropped_messages + flooded.queued_messages >= total)
        elapsed = time.monotonic() - started
        await counter.wait_for(set(sent), 10)
        return Figures.counted(
            f"{total:,} +MQTTRECV flood on 1 client that does not read (queue {queue})",
            "reader never blocks; DROP_OLDEST keeps the newest, counts every drop; "
            "other clients' commands unaffected",
            sent, counter.payloads, None, broker,
            {"flood_messages": total, "flood_s": round(elapsed, 3),
             "flooded_dropped": flooded.dropped_messages,
             "flooded_queued": flooded.queued_messages,
             "drops_accounted": flooded.dropped_messages == total - queue,
             "publish_latency_p50_before_ms": round(statistics.median(baseline) * 1e3, 2),
             "publish_latency_p50_during_ms": round(statistics.median(during) * 1e3, 2),
             "publish_latency_max_during_ms": round(max(during) * 1e3, 2)},
        )  # fmt: skip


async def port_pull(folder: Path) -> Figures:
    sent: list[bytes] = []
    ok: list[bytes] = []
    raised: list[BaseException] = []
    async with counted_broker(folder, "rel/pull/#") as (broker, counter):
        async with VirtualModem(broker.url) as sim:
            async with nm.Modem.open(await sim.serve_pty()) as modem, AsyncExitStack() as stack:
                sessions = [
                    await stack.enter_async_context(
                        modem.session(i, broker.host, broker.port, client_id=f"pull-{i}",
                                      backoff=BACKOFF, poll_interval=0.3)
                    )
                    for i in range(3)
                ]  # fmt: skip
                for s in sessions:
                    await s.wait_connected(10)

                async def load(session: Session) -> None:
                    n = 0
                    while True:
                        payload = f"p{session.client.index}-{n:05d}".encode()
                        n += 1
                        sent.append(payload)
                        try:
                            await session.publish(f"rel/pull/{session.client.index}", payload, 1)
                        except nm.Nm28Error as exc:
                            raised.append(exc)
                            return
                        ok.append(payload)

                tasks = [asyncio.create_task(load(s)) for s in sessions]
                await asyncio.sleep(0.5)
                pulled = time.monotonic()
                sim.close_port()
                await asyncio.gather(*tasks)
                ended = time.monotonic() - pulled
            replugged = time.monotonic()
            async with (
                nm.Modem.open(await sim.serve_pty()) as modem,
                modem.session(0, broker.host, broker.port, client_id="pull-0",
                              backoff=BACKOFF) as session,
            ):  # fmt: skip
                await session.wait_connected(10)
                recovery = time.monotonic() - replugged
                payload = b"after-replug"
                sent.append(payload)
                await session.publish("rel/pull/0", payload, qos=1)
                ok.append(payload)
        await counter.wait_for(set(ok), 10)
        return Figures.counted(
            "pty pulled away under load (3 clients publishing)",
            "every pending call and iterator ends with PortLostError; the application "
            "re-opens the port, the session takes the module's clients back",
            ok, counter.payloads, recovery, broker,
            {"pending_calls_ended_s": round(ended, 4), "in_flight_raised": len(raised),
             "raised_types": sorted({type(e).__name__ for e in raised})},
        )  # fmt: skip


SCENARIOS = [broker_restart, module_reboot, link_drop, noise, flood, port_pull]


def markdown(rows: list[Figures]) -> str:
    lines = [
        "| fault injected | what the driver did | sent | received | lost | recovery |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        recovery = "-" if r.recovery_s is None else f"{r.recovery_s * 1e3:.0f} ms"
        lines.append(
            f"| {r.fault} | {r.driver} | {r.sent:,} | {r.received:,} | {r.lost:,} | {recovery} |"
        )
    return "\n".join(lines)


async def run_all(folder: Path) -> list[Figures]:
    return [
        await asyncio.wait_for(scenario(folder / scenario.__name__), 60) for scenario in SCENARIOS
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--verbose", action="store_true", help="show the driver's log")
    args = parser.parse_args(argv)
    if not args.verbose:  # the faults are deliberate: their warnings are expected
        logging.getLogger("nm28_async").setLevel(logging.CRITICAL)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in SCENARIOS:
            Path(tmp, scenario.__name__).mkdir()
        rows = asyncio.run(run_all(Path(tmp)))
    duration = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    data = {"duration_s": round(duration, 2), "scenarios": [asdict(r) for r in rows]}
    (args.out / "reliability.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(markdown(rows))
    for r in rows:
        print(f"\n{r.fault}: {json.dumps(r.extra)}")
    print(f"\nran in {duration:.0f} s; wrote {args.out / 'reliability.json'}")


if __name__ == "__main__":
    main()
