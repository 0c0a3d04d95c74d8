"""Local broker -> the session's durable outbox.

The local client speaks MQTT v5 and subscribes with no-local, so nothing the bridge publishes
locally (a downlink) comes back to it. It keeps its session at the local broker (clean start
off, a session expiry) and acknowledges a QoS 1 message only once `session.enqueue()`
returned, that is once the message is committed to the outbox: a bridge killed at any moment
loses nothing the local broker handed over; what it had not acknowledged, the broker sends
again when the bridge is back (at least once).

Stores run concurrently (the outbox groups them into one commit) and acknowledgements go
out in the order the messages came, as MQTT wants. aiomqtt 2.x has no manual acknowledgement
of its own; paho-mqtt (which it drives) has, so the bridge switches it on through the
client's paho instance (`manual_ack_set`, `ack`) and calls `ack` itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import aiomqtt
import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from .downlink import Echoes
from .metrics import Metrics
from .options import Options, Route

log = logging.getLogger("nm28_async.bridge")

WINDOW = 256
"""At most this many local messages between arrival and acknowledgement."""
LOCAL_QOS_CEILING = 1
"""The local subscriptions ask at most QoS 1: a QoS 2 message is acknowledged (PUBREC) on
arrival, before it could be stored, so the bridge takes it as QoS 1 (at least once)."""


class Outbox(Protocol):
    async def enqueue(
        self, topic: str, payload: bytes | bytearray | memoryview | str, qos: int = 0,
        retain: bool = False,
    ) -> int: ...  # fmt: skip


class FatalError(Exception):
    """The bridge cannot go on (the outbox's disk failed, a subscription refused)."""


def local_client(options: Options) -> aiomqtt.Client:
    """A client of the local broker: MQTT v5, its session kept, acknowledgements manual."""
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = options.local_session_expiry
    url = options.local
    client = aiomqtt.Client(
        url.host, url.port, identifier=options.local_client_id,
        username=url.username or None, password=url.password or None,
        protocol=aiomqtt.ProtocolVersion.V5, clean_start=False, properties=properties,
        keepalive=max(options.keepalive, 5), timeout=10,
        max_queued_incoming_messages=0,
    )  # fmt: skip
    paho(client).manual_ack_set(True)
    return client


def paho(client: aiomqtt.Client) -> Any:
    """The paho-mqtt client inside aiomqtt's (for manual acknowledgement only)."""
    return client._client


def subscription_options(route: Route) -> SubscribeOptions:
    """No-local (no loop), retain as published, retained messages only for a new
    subscription (a restart does not forward them again)."""
    return SubscribeOptions(
        qos=min(route.qos, LOCAL_QOS_CEILING), noLocal=True, retainAsPublished=True,
        retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB,
    )  # fmt: skip


@dataclass
class _Pending:
    message: aiomqtt.Message
    done: anyio.Event
    stored: bool = False


class Uplink:
    """Carries one local connection's messages to the outbox; `stop()` drains it."""

    def __init__(self, options: Options, outbox: Outbox, metrics: Metrics, echoes: Echoes) -> None:
        self._routes = options.forwards
        self._outbox = outbox
        self._metrics = metrics
        self._echoes = echoes
        self._reading: anyio.CancelScope | None = None
        self._stopping = False
        self.failure: BaseException | None = None

    async def subscribe(self, client: aiomqtt.Client) -> None:
        for route in self._routes:
            result = await client.subscribe(route.local_filter, options=subscription_options(route))
            for code in result:
                if getattr(code, "is_failure", False) or (isinstance(code, int) and code >= 0x80):
                    raise FatalError(f"the local broker refused {route.local_filter!r}: {code}")

    def stop(self) -> None:
        """Take no more messages; the ones taken are stored and acknowledged first."""
        self._stopping = True
        if self._reading is not None:
            self._reading.cancel()

    async def run(self, client: aiomqtt.Client) -> None:
        """Store what arrives until the connection ends (MqttError) or `stop()`."""
        send, receive = anyio.create_memory_object_stream[_Pending](WINDOW)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._acknowledge, client, receive)
            async with send:
                if self._stopping:
                    return
                with anyio.CancelScope() as self._reading:
                    async for message in client.messages:
                        pending = _Pending(message, anyio.Event())
                        self._take(tasks, pending, client)
                        await send.send(pending)
                self._reading = None

    def _take(self, tasks: TaskGroup, pending: _Pending, client: aiomqtt.Client) -> None:
        message = pending.message
        topic = message.topic.value
        remote = next(
            (t for t in (route.to_remote(topic) for route in self._routes) if t is not None), None
        )
        if remote is None:  # a subscription kept from an earlier configuration
            log.info("local message on %r matches no --forward route: acknowledged, dropped", topic)
            pending.done.set()
            return
        tasks.start_soon(self._store, pending, remote)

    async def _store(self, pending: _Pending, remote: str) -> None:
        message = pending.message
        payload = message.payload
        data = payload if isinstance(payload, bytes | bytearray) else str(payload).encode()
        qos = min(message.qos, LOCAL_QOS_CEILING)
        try:
            await self._outbox.enqueue(remote, bytes(data), qos=qos, retain=message.retain)
        except ValueError as exc:  # the module cannot carry it: storing it would never end
            self._metrics.refused.inc()
            log.warning("local message on %r not forwarded: %s", message.topic.value, exc)
        except Exception as exc:
            if self.failure is None:
                self.failure = exc
            log.error("the outbox failed: %s", exc)
            self.stop()
            pending.done.set()
            return
        else:
            pending.stored = True
            self._metrics.forwarded.inc()
            self._echoes.sent(remote, bytes(data))
        pending.done.set()

    async def _acknowledge(
        self, client: aiomqtt.Client, receive: MemoryObjectReceiveStream[_Pending]
    ) -> None:
        async with receive:
            async for pending in receive:
                await pending.done.wait()
                if self.failure is not None:
                    continue  # not stored: the local broker keeps it for the next run
                message = pending.message
                if message.qos > 0:
                    paho(client).ack(message.mid, message.qos)
