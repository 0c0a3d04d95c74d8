"""The cloud -> the local broker: `session.messages()` published locally, with their QoS.

Nothing loops. Locally, the bridge's own subscriptions are no-local (uplink.py): a downlink it
publishes never comes back to it to be forwarded. At the cloud, the module speaks MQTT 3.1.1,
which has no no-local: when a `--receive` filter matches what `--forward` sends, the cloud
broker echoes each forwarded message back. `Echoes` remembers what was forwarded onto a
topic the cloud subscriptions match (topic and payload, the last `echo_window` of them) and
drops one matching arrival per forwarded message, so the echo is not published locally
either.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator

import aiomqtt
import anyio

from ..protocol.events import Message
from ..protocol.topics import topic_matches
from .metrics import Metrics
from .options import Options, Route

log = logging.getLogger("nm28_async.bridge")


class Echoes:
    """Forwarded messages whose echo the cloud will send back (bounded)."""

    def __init__(self, cloud_filters: tuple[str, ...], window: int) -> None:
        self._filters = cloud_filters
        self._window = window
        self._order: deque[tuple[str, bytes]] = deque()
        self._waiting: Counter[tuple[str, bytes]] = Counter()

    def sent(self, topic: str, payload: bytes) -> None:
        """A message was stored for the cloud on `topic`."""
        if self._window == 0 or not any(topic_matches(f, topic) for f in self._filters):
            return
        key = (topic, hashlib.blake2b(payload, digest_size=16).digest())
        self._order.append(key)
        self._waiting[key] += 1
        while len(self._order) > self._window:
            self._forget(self._order.popleft())

    def is_echo(self, topic: str, payload: bytes) -> bool:
        """Whether this arrival is the echo of a forwarded message (then it is consumed)."""
        if not self._waiting:
            return False
        key = (topic, hashlib.blake2b(payload, digest_size=16).digest())
        if not self._waiting[key]:
            self._waiting.pop(key, None)
            return False
        self._forget(key)
        self._order.remove(key)
        return True

    def _forget(self, key: tuple[str, bytes]) -> None:
        self._waiting[key] -= 1
        if self._waiting[key] <= 0:
            del self._waiting[key]


class LocalLink:
    """The current connection to the local broker, for whoever publishes on it."""

    def __init__(self) -> None:
        self.client: aiomqtt.Client | None = None
        self._up = anyio.Event()

    def connected(self, client: aiomqtt.Client) -> None:
        self.client = client
        self._up.set()

    def lost(self) -> None:
        self.client = None
        if self._up.is_set():
            self._up = anyio.Event()

    async def wait(self) -> aiomqtt.Client:
        while self.client is None:
            await self._up.wait()
        return self.client


class Downlink:
    """Publishes what the cloud sends onto the local broker, until cancelled."""

    def __init__(
        self, options: Options, local: LocalLink, metrics: Metrics, echoes: Echoes
    ) -> None:
        self._routes: tuple[Route, ...] = options.receives
        self._local = local
        self._metrics = metrics
        self._echoes = echoes

    async def run(self, messages: AsyncIterator[Message]) -> None:
        async for message in messages:
            self._metrics.received.inc()
            if self._echoes.is_echo(message.topic, message.payload):
                self._metrics.echoes.inc()
                continue
            target = self._target(message.topic)
            if target is None:
                log.info("cloud message on %r matches no --receive route: dropped", message.topic)
                continue
            local_topic, qos = target
            if message.packet_id == 0:
                qos = 0  # the cloud sent it at QoS 0
            await self._publish(local_topic, message.payload, qos)

    def _target(self, topic: str) -> tuple[str, int] | None:
        for route in self._routes:
            local = route.to_local(topic)
            if local is not None:
                return local, route.qos
        return None

    async def _publish(self, topic: str, payload: bytes, qos: int) -> None:
        """Publish once a local connection is up, again on the next if this one fails."""
        while True:
            client = await self._local.wait()
            try:
                await client.publish(topic, payload, qos=qos)
            except aiomqtt.MqttError as exc:
                log.info("local publish on %r waits for the local broker: %s", topic, exc)
                if self._local.client is client:
                    self._local.lost()
                await anyio.sleep(0.1)
                continue
            self._metrics.published_local.inc()
            return
