"""`nm28 demo`: six devices on one virtual NM28 publish telemetry and act on CTWing-style
downlink commands sent by a platform-side MQTT client, all live in the terminal.

Everything runs in this process: an embedded broker (or `--broker`), the virtual modem on a
pty, the driver on that pty, and a paho-mqtt client standing in for the IoT platform.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit

import anyio

from . import Modem, MqttClient
from .platforms import ctwing
from .protocol import limits

TELEMETRY = "devices/{}/telemetry"
COMMANDS = "devices/{}/commands"
COMMAND_EVERY = 3
"""The platform sends a downlink command after every third telemetry message of a device."""


@dataclass
class DeviceTally:
    telemetry_sent: int = 0
    commands_received: int = 0
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

    def __init__(self, host: str, port: int, console: Console) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self._console = console
        self._loop = asyncio.get_running_loop()
        self._task_id = 0
        self.telemetry_seen = 0
        self.sent_at: dict[int, float] = {}
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="demo-platform")
        self._client.on_message = self._on_message
        self._client.connect(host, port)
        self._client.subscribe(TELEMETRY.format("+"), qos=1)
        self._client.loop_start()

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        self._loop.call_soon_threadsafe(self._handle, message.topic, bytes(message.payload))

    def _handle(self, topic: str, payload: bytes) -> None:
        self.telemetry_seen += 1
        device = int(topic.split("/")[1])
        seq = json.loads(payload)["seq"]
        if seq % COMMAND_EVERY == 0:
            self._task_id += 1
            command = {"valve_onoff": seq // COMMAND_EVERY % 2}
            self.sent_at[self._task_id] = time.monotonic()
            self._client.publish(
                COMMANDS.format(device), ctwing.encode_downlink(self._task_id, command), qos=1
            )
            self._console.say(f"platform → dev{device}  command taskId={self._task_id} {command}")

    def stop(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


async def run_demo(
    *, broker: str | None, duration: float, interval: float, out: TextIO = sys.stdout
) -> int:
    """Run the demo; return a process exit code (0 when every device got its commands)."""
    from .sim import EmbeddedBroker, VirtualModem

    console = Console(out)
    async with AsyncExitStack() as stack:
        if broker is None:
            embedded = await stack.enter_async_context(EmbeddedBroker())
            broker = embedded.url
            console.say(f"embedded MQTT broker on {broker}")
        parts = urlsplit(broker)
        host, port = parts.hostname or "127.0.0.1", parts.port or 1883
        sim = await stack.enter_async_context(VirtualModem(broker=broker))
        path = await sim.serve_pty()
        console.say(f"virtual NM28 on {path}")
        modem = await stack.enter_async_context(Modem.open(path, command_timeout=5.0))
        console.say(f"driver synchronised with the module on {path}")
        platform = Platform(host, port, console)
        stack.callback(platform.stop)
        tallies = [DeviceTally() for _ in limits.CLIENT_INDEXES]
        async with anyio.create_task_group() as tasks:
            for index in limits.CLIENT_INDEXES:
                client = await stack.enter_async_context(
                    modem.mqtt(index, host, port, client_id=f"demo-device-{index}", keepalive=60)
                )
                await client.subscribe(COMMANDS.format(index), qos=1)
                console.say(f"dev{index} connected and subscribed to {COMMANDS.format(index)}")
                tasks.start_soon(_listen, client, tallies[index], platform, console)
            with anyio.move_on_after(duration):
                async with anyio.create_task_group() as publishers:
                    for index in limits.CLIENT_INDEXES:
                        publishers.start_soon(
                            _publish, modem.client(index), tallies[index], interval, console
                        )
            await anyio.sleep(1.0)  # let the last commands arrive
            tasks.cancel_scope.cancel()
        return _summary(console, tallies, platform, modem.clients)


async def _publish(
    client: MqttClient, tally: DeviceTally, interval: float, console: Console
) -> None:
    seq = 0
    while True:
        seq += 1
        reading = {"seq": seq, "temperature": round(20 + client.index + seq * 0.1, 1)}
        text = json.dumps(reading)
        await client.publish(TELEMETRY.format(client.index), text, qos=1)
        tally.telemetry_sent += 1
        console.say(f"dev{client.index} → telemetry {text}")
        await anyio.sleep(interval)


async def _listen(
    client: MqttClient, tally: DeviceTally, platform: Platform, console: Console
) -> None:
    async for message in client.messages():
        try:
            downlink = ctwing.parse_downlink(message.payload)
        except ValueError as exc:
            console.say(f"dev{client.index} ← unreadable command: {exc}")
            continue
        tally.commands_received += 1
        sent = platform.sent_at.get(downlink.task_id)
        if sent is not None:
            tally.round_trips.append(time.monotonic() - sent)
        console.say(
            f"dev{client.index} ← command taskId={downlink.task_id} {json.dumps(downlink.payload)}"
        )


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
    trips: list[float] = []
    for index, tally in enumerate(tallies):
        trips += tally.round_trips
        median = statistics.median(tally.round_trips) * 1000 if tally.round_trips else 0.0
        print(
            f"{index:>6} {tally.telemetry_sent:>15} {tally.commands_received:>14} "
            f"{median:>10.1f} {clients[index].dropped_messages:>8}"
        )
    sent = sum(t.telemetry_sent for t in tallies)
    received = sum(t.commands_received for t in tallies)
    print(
        f"telemetry published: {sent}, seen by the platform: {platform.telemetry_seen}; "
        f"commands sent: {len(platform.sent_at)}, received: {received}"
    )
    ok = received == len(platform.sent_at) > 0 and platform.telemetry_seen == sent
    print("result: " + ("every message arrived" if ok else "MESSAGES MISSING"))
    return 0 if ok else 1
