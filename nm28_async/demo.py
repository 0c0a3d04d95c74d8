"""`nm28 demo`: six devices on one virtual NM28 publish telemetry and act on CTWing-style
downlink commands sent by a platform-side MQTT client, all live in the terminal.

Everything runs in this process: an embedded broker (or `--broker`), the virtual modem on a
pty, the driver on that pty, and a paho-mqtt client standing in for the IoT platform.

The summary counts what really happened: a telemetry message counts as sent once the module
acknowledged it, and as seen once the platform received it. Publishers are stopped between
publishes, never in the middle of one, since a cancelled publish may still be delivered.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import statistics
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, TextIO

import anyio

from . import Modem, MqttClient, Nm28Error
from .broker_url import BrokerUrl
from .platforms import ctwing
from .protocol import limits

TELEMETRY = "devices/{}/telemetry"
COMMANDS = "devices/{}/commands"
COMMAND_EVERY = 3
"""The platform sends a downlink command after every third telemetry message of a device."""
BROKER_ANSWER_LIMIT = 5.0
"""Seconds the broker may take to accept the platform's connection and subscription."""
SETTLE_LIMIT = 10.0
"""Seconds, after the last publish, for the last messages and commands to arrive."""


@dataclass
class DeviceTally:
    acknowledged: set[int] = field(default_factory=set)
    """Sequence numbers of the telemetry the module acknowledged."""
    unknown: int = 0
    """Publishes that failed or timed out: they may or may not have been published."""
    commands: set[int] = field(default_factory=set)
    """Task ids of the downlink commands received."""
    round_trips: list[float] = field(default_factory=list)


class Console:
    """Timestamped lines, flushed as they happen."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._t0 = time.monotonic()

    def say(self, text: str) -> None:
        self._out.write(f"[{time.monotonic() - self._t0:6.2f}s] {text}\n")
        self._out.flush()


class Platform:
    """The IoT platform side: a real MQTT client that answers telemetry with commands."""

    def __init__(self, broker: BrokerUrl, console: Console) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self._broker = broker
        self._console = console
        self._loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[None] = self._loop.create_future()
        self._task_id = 0
        self.seen: set[tuple[int, int]] = set()
        """(device, seq) of every telemetry message received, duplicates counted once."""
        self.sent_at: dict[int, tuple[int, float]] = {}
        """Task id -> (device, time) of every command sent."""
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="demo-platform")
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        if broker.username:
            self._client.username_pw_set(broker.username, broker.password or None)
        if broker.tls:
            self._client.tls_set()

    async def start(self) -> None:
        """Connect and subscribe; ConnectionError if the broker is unreachable or silent."""
        try:
            await asyncio.to_thread(self._client.connect, self._broker.host, self._broker.port)
        except OSError as exc:
            raise ConnectionError(f"cannot reach the broker at {self._broker}: {exc}") from None
        self._client.loop_start()
        try:
            async with asyncio.timeout(BROKER_ANSWER_LIMIT):
                await self._ready
        except TimeoutError:
            raise ConnectionError(
                f"the broker at {self._broker} did not answer within {BROKER_ANSWER_LIMIT:g} s"
            ) from None

    def stop(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()

    def _settle(self, error: str | None) -> None:
        if not self._ready.done():
            if error is None:
                self._ready.set_result(None)
            else:
                self._ready.set_exception(ConnectionError(error))

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason: Any, *_: Any) -> None:
        if reason.is_failure:
            error = f"the broker at {self._broker} refused the platform: {reason}"
            self._loop.call_soon_threadsafe(self._settle, error)
        else:
            client.subscribe(TELEMETRY.format("+"), qos=1)

    def _on_subscribe(self, _client: Any, _userdata: Any, _mid: Any, reasons: Any, *_: Any) -> None:
        refused = any(reason.is_failure for reason in reasons)
        error = f"the broker at {self._broker} refused the platform's subscription"
        self._loop.call_soon_threadsafe(self._settle, error if refused else None)

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        self._loop.call_soon_threadsafe(self._handle, message.topic, bytes(message.payload))

    def _handle(self, topic: str, payload: bytes) -> None:
        device = int(topic.split("/")[1])
        seq = json.loads(payload)["seq"]
        if (device, seq) in self.seen:
            return  # a QoS 1 redelivery
        self.seen.add((device, seq))
        if seq % COMMAND_EVERY == 0:
            self._task_id += 1
            command = {"valve_onoff": seq // COMMAND_EVERY % 2}
            self.sent_at[self._task_id] = (device, time.monotonic())
            self._client.publish(
                COMMANDS.format(device), ctwing.encode_downlink(self._task_id, command), qos=1
            )
            self._console.say(f"platform → dev{device}  command taskId={self._task_id} {command}")


async def run_demo(
    *, broker: BrokerUrl | None, duration: float, interval: float, out: TextIO = sys.stdout
) -> int:
    """Run the demo; return a process exit code (0 when every acknowledged message and every
    command arrived). ConnectionError if the broker cannot be used."""
    from .sim import EmbeddedBroker, VirtualModem

    console = Console(out)
    async with AsyncExitStack() as stack:
        if broker is None:
            embedded = await stack.enter_async_context(EmbeddedBroker())
            broker = BrokerUrl(embedded.host, embedded.port)
            console.say(f"embedded MQTT broker on {broker}")
        platform = Platform(broker, console)
        stack.callback(platform.stop)
        await platform.start()
        console.say(f"platform connected to {broker}")
        tls = {0: ssl.create_default_context()} if broker.tls else None
        sim = await stack.enter_async_context(
            VirtualModem(broker=f"mqtt://{broker.address}", tls_contexts=tls)
        )
        path = await sim.serve_pty()
        console.say(f"virtual NM28 on {path}")
        modem = await stack.enter_async_context(Modem.open(path, command_timeout=5.0))
        console.say(f"driver synchronised with the module on {path}")
        tallies = [DeviceTally() for _ in limits.CLIENT_INDEXES]
        async with anyio.create_task_group() as tasks:
            for index in limits.CLIENT_INDEXES:
                client = await stack.enter_async_context(
                    modem.mqtt(
                        index, broker.host, broker.port, client_id=f"demo-device-{index}",
                        username=broker.username, password=broker.password, keepalive=60,
                        **({"ssl": True, "ssl_ctx": 0} if broker.tls else {}),
                    )
                )  # fmt: skip
                await client.subscribe(COMMANDS.format(index), qos=1)
                console.say(f"dev{index} connected and subscribed to {COMMANDS.format(index)}")
                tasks.start_soon(_listen, client, tallies[index], platform, console)
            stop = anyio.Event()
            async with anyio.create_task_group() as publishers:
                for index in limits.CLIENT_INDEXES:
                    publishers.start_soon(
                        _publish, modem.client(index), tallies[index], interval, stop, console
                    )
                await anyio.sleep(duration)
                stop.set()  # each publisher ends after the publish it is in
            with anyio.move_on_after(SETTLE_LIMIT):
                while not _all_arrived(tallies, platform):  # noqa: ASYNC110 - two sources
                    await anyio.sleep(0.05)
            tasks.cancel_scope.cancel()
        return _summary(console, tallies, platform, modem.clients)


async def _publish(
    client: MqttClient, tally: DeviceTally, interval: float, stop: anyio.Event, console: Console
) -> None:
    seq = 0
    while not stop.is_set():
        seq += 1
        reading = {"seq": seq, "temperature": round(20 + client.index + seq * 0.1, 1)}
        text = json.dumps(reading)
        try:
            await client.publish(TELEMETRY.format(client.index), text, qos=1)
        except Nm28Error as exc:
            tally.unknown += 1
            console.say(f"dev{client.index} telemetry seq {seq} failed (may still arrive): {exc}")
        else:
            tally.acknowledged.add(seq)
            console.say(f"dev{client.index} → telemetry {text}")
        with anyio.move_on_after(interval):
            await stop.wait()


async def _listen(
    client: MqttClient, tally: DeviceTally, platform: Platform, console: Console
) -> None:
    async for message in client.messages():
        try:
            downlink = ctwing.parse_downlink(message.payload)
        except ValueError as exc:
            console.say(f"dev{client.index} ← unreadable command: {exc}")
            continue
        if downlink.task_id in tally.commands:
            continue  # a QoS 1 redelivery
        tally.commands.add(downlink.task_id)
        sent = platform.sent_at.get(downlink.task_id)
        if sent is not None:
            tally.round_trips.append(time.monotonic() - sent[1])
        console.say(
            f"dev{client.index} ← command taskId={downlink.task_id} {json.dumps(downlink.payload)}"
        )


def _missing(tallies: list[DeviceTally], platform: Platform) -> tuple[int, int]:
    """Acknowledged telemetry the platform has not seen; commands sent but not received."""
    telemetry = sum(
        len({(index, seq) for seq in tally.acknowledged} - platform.seen)
        for index, tally in enumerate(tallies)
    )
    commands = sum(
        task_id not in tallies[device].commands
        for task_id, (device, _) in platform.sent_at.items()
    )
    return telemetry, commands


def _all_arrived(tallies: list[DeviceTally], platform: Platform) -> bool:
    return _missing(tallies, platform) == (0, 0)


def _summary(
    console: Console,
    tallies: list[DeviceTally],
    platform: Platform,
    clients: tuple[MqttClient, ...],
) -> int:
    console.say("summary")
    print(
        f"{'client':>6} {'telemetry sent':>15} {'commands recv':>14} {'median ms':>10} "
        f"{'dropped':>8}"
    )
    for index, tally in enumerate(tallies):
        median = statistics.median(tally.round_trips) * 1000 if tally.round_trips else 0.0
        print(
            f"{index:>6} {len(tally.acknowledged):>15} {len(tally.commands):>14} "
            f"{median:>10.1f} {clients[index].dropped_messages:>8}"
        )
    sent = sum(len(t.acknowledged) for t in tallies)
    unknown = sum(t.unknown for t in tallies)
    received = sum(len(t.commands) for t in tallies)
    missing_telemetry, missing_commands = _missing(tallies, platform)
    print(
        f"telemetry published (acknowledged): {sent}, seen by the platform: "
        f"{sent - missing_telemetry}; commands sent: {len(platform.sent_at)}, received: "
        f"{received}"
    )
    if unknown:
        print(f"publishes with an unknown outcome (failed or timed out): {unknown}")
    ok = sent > 0 and missing_telemetry == missing_commands == 0 and len(platform.sent_at) > 0
    print("result: " + ("every message arrived" if ok else "MESSAGES MISSING"))
    return 0 if ok else 1
