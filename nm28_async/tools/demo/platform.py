"""The IoT platform's side of the demo: a real MQTT client (paho) that reads every device's
telemetry and answers every third message with a CTWing-style downlink command.

It counts what it saw, duplicates (QoS 1 redeliveries) once, and when it sent each command,
so that the summary can compare what was published with what arrived.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from ...platforms import ctwing
from ...protocol.broker_url import BrokerUrl

TELEMETRY = "devices/{}/telemetry"
COMMANDS = "devices/{}/commands"
COMMAND_EVERY = 3
"""The platform sends a downlink command after the first telemetry message of a device, and
after every third one from there."""
BROKER_ANSWER_LIMIT = 5.0
"""Seconds the broker may take to accept the platform's connection and subscription."""


class Platform:
    """Connects once, then reconnects by itself (paho's loop) after a broker restart; with a
    persistent session the broker keeps its subscription and messages meanwhile."""

    def __init__(self, broker: BrokerUrl, *, persistent: bool) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self._broker = broker
        self._loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[None] = self._loop.create_future()
        self._task_id = 0
        self.connected = False
        self.seen: set[tuple[int, int]] = set()
        """(device, seq) of every telemetry message received, duplicates counted once."""
        self.sent_at: dict[int, tuple[int, float]] = {}
        """Task id -> (device, time) of every command sent."""
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="demo-platform", clean_session=not persistent
        )
        self._client.reconnect_delay_set(min_delay=1, max_delay=2)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
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

    def missing(self, acknowledged: list[set[int]], received: list[set[int]]) -> tuple[int, int]:
        """Telemetry the devices had acknowledged that the platform has not seen; commands
        sent that their device has not received."""
        telemetry = sum(
            len({(device, seq) for seq in seqs} - self.seen)
            for device, seqs in enumerate(acknowledged)
        )
        commands = sum(
            task_id not in received[device] for task_id, (device, _) in self.sent_at.items()
        )
        return telemetry, commands

    # paho's thread -----------------------------------------------------------------------

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
            self.connected = True
            client.subscribe(TELEMETRY.format("+"), qos=1)

    def _on_disconnect(self, *_: Any) -> None:
        self.connected = False

    def _on_subscribe(self, _client: Any, _userdata: Any, _mid: Any, reasons: Any, *_: Any) -> None:
        refused = any(reason.is_failure for reason in reasons)
        error = f"the broker at {self._broker} refused the platform's subscription"
        self._loop.call_soon_threadsafe(self._settle, error if refused else None)

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        self._loop.call_soon_threadsafe(self._handle, message.topic, bytes(message.payload))

    # the event loop ----------------------------------------------------------------------

    def _handle(self, topic: str, payload: bytes) -> None:
        device = int(topic.split("/")[1])
        seq = json.loads(payload)["seq"]
        if (device, seq) in self.seen:
            return  # a QoS 1 redelivery
        self.seen.add((device, seq))
        if seq % COMMAND_EVERY == 1:  # from each device's first reading: a short run has some
            self._task_id += 1
            command = {"valve_onoff": seq // COMMAND_EVERY % 2}
            self.sent_at[self._task_id] = (device, time.monotonic())
            self._client.publish(
                COMMANDS.format(device), ctwing.encode_downlink(self._task_id, command), qos=1
            )
