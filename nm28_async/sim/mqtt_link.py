"""One client index's real MQTT connection.

The manual splits what a library does in one call into two commands: ``AT+MQTTOPEN``
dials TCP (and TLS), ``AT+MQTTCONN`` sends CONNECT on that connection. So the link dials
the broker itself, with asyncio, and at connect time splices a paho-mqtt client onto that
connection (:mod:`.splice`). paho is driven through its public API only; its network loop
runs in its own thread (``loop_start``), every callback is posted to the asyncio loop with
``call_soon_threadsafe`` and all state lives there. Deadlines use ``asyncio.timeout``:
Python 3.11's ``wait_for`` can swallow a cancellation that comes as the awaited step
completes, and a power-off would then wait forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from ..protocol.codes import ConnackCode, LinkLost, OpenResult
from .settings import ClientSettings
from .splice import LOOPBACK, Pipe, dial, splice

# paho reports an MQTT 3.x CONNACK as an MQTT 5 reason; these are the 3.x return codes.
_CONNACK_RETURN_CODES = {
    "Success": ConnackCode.ACCEPTED,
    "Unsupported protocol version": ConnackCode.BAD_PROTOCOL_VERSION,
    "Client identifier not valid": ConnackCode.IDENTIFIER_REJECTED,
    "Server unavailable": ConnackCode.SERVER_UNAVAILABLE,
    "Bad user name or password": ConnackCode.BAD_CREDENTIALS,
    "Not authorized": ConnackCode.NOT_AUTHORISED,
}

Ack = int | None
"""What an acknowledgement future holds: a code from the broker, or None when the link died."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message the broker delivered on a subscription, its topic as the bytes on the wire
    (a topic may hold commas, quotes, or bytes that are not UTF-8)."""

    topic: bytes
    payload: bytes
    packet_id: int


def wire_topic(message: mqtt.MQTTMessage) -> bytes:
    """The topic's bytes as they came: paho decodes them as UTF-8, and the error of a topic
    that is not UTF-8 holds the undecoded bytes."""
    try:
        return message.topic.encode()
    except UnicodeDecodeError as exc:
        return bytes(exc.object)


class MqttLink:
    """The network side of one client index: ``open`` → ``connect`` → traffic → ``close``."""

    def __init__(
        self, on_message: Callable[[Incoming], None], on_lost: Callable[[LinkLost], None]
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._on_message = on_message
        self._on_lost = on_lost
        self._host = ""
        self._port = 0
        self._tls: ssl.SSLContext | None = None
        self._upstream: Pipe | None = None  # the broker link OPEN dialled
        self._local: Pipe | None = None  # paho's socket, spliced onto it
        self._client: mqtt.Client | None = None
        self._acks: dict[int, asyncio.Future[Ack]] = {}
        self._connack: asyncio.Future[Ack] | None = None
        self._gone: asyncio.Future[None] | None = None
        self.is_open = False
        self.connected = False
        self.client_id = ""
        self.username = ""

    @property
    def endpoint(self) -> tuple[str, int]:
        return self._host, self._port

    async def open(
        self, host: str, port: int, tls: ssl.SSLContext | None, timeout: float
    ) -> OpenResult:
        """Resolve and dial for real; the result code says which step failed."""
        if self.is_open:
            return OpenResult.IN_USE
        try:
            upstream = await dial(host, port, tls, timeout)
        except socket.gaierror:
            return OpenResult.DNS_FAILED
        except (OSError, TimeoutError, UnicodeError):
            return OpenResult.CONNECT_FAILED
        self._host, self._port, self._tls, self._upstream = host, port, tls, upstream
        self.is_open = True
        return OpenResult.OK

    async def connect(
        self,
        client_id: str,
        username: str,
        password: str,
        cfg: ClientSettings,
        on_retry: Callable[[int], None],
    ) -> Ack:
        """Send CONNECT; the CONNACK return code, or None when none came.

        Raises ``ValueError`` for a client id paho refuses (empty with a kept session).
        """
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=bool(cfg.clean_session),
            protocol=MQTTProtocolVersion.MQTTv31
            if cfg.version == 3
            else MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=False,
        )
        await self._retire_client()
        upstream = self._upstream
        if upstream is None or not upstream.alive:
            # DISC or a refused CONNACK ended it: dial the same server again
            try:
                upstream = await dial(self._host, self._port, self._tls, cfg.pkt_timeout)
            except (OSError, TimeoutError, UnicodeError):
                return None
            self._upstream = upstream
        if username:
            client.username_pw_set(username, password or None)
        if cfg.will_flag:
            client.will_set(
                cfg.will_topic, cfg.will_msg.encode(), cfg.will_qos, bool(cfg.will_retain)
            )
        client.on_connect = self._cb_connect
        client.on_disconnect = self._cb_disconnect
        client.on_message = self._cb_message
        client.on_subscribe = self._cb_subscribe
        client.on_unsubscribe = self._cb_unsubscribe
        client.on_publish = self._cb_publish
        self._client = client
        self._connack = self._loop.create_future()
        self._gone = self._loop.create_future()
        local = await splice(
            lambda port: client.connect(LOOPBACK, port, keepalive=cfg.keepalive),
            upstream,
            cfg.pkt_timeout,
        )
        if local is None:
            return None
        self._local = local
        client.loop_start()
        code = await self._await_ack(self._connack, cfg, on_retry)
        if code == ConnackCode.ACCEPTED:
            self.connected = True
            self.client_id, self.username = client_id, username
        return code

    async def disconnect(self, timeout: float) -> bool:
        """Send DISCONNECT (the broker then drops the will) and let the TCP link close."""
        client, gone, local = self._client, self._gone, self._local
        if not self.connected or client is None or gone is None or local is None:
            return False
        self.connected = False  # the host ends it: not a lost link
        client.disconnect()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                # paho's callback, and its socket's end passing its last bytes on
                await asyncio.shield(asyncio.gather(gone, local.ended))
        await self._retire_client()
        return True

    async def close(self) -> bool:
        """Close the network abruptly, as the module does on ``AT+MQTTCLOSE``."""
        if not self.is_open:
            return False
        await self._retire_client()
        upstream, self._upstream = self._upstream, None
        if upstream is not None:
            upstream.abort()
        self.is_open = False
        return True

    def drop(self) -> bool:
        """Cut the link under the client (a lost radio link); False if there is none."""
        upstream = self._upstream
        if upstream is None or not upstream.alive:
            return False
        self._upstream = None
        upstream.abort()
        if self._local is not None:
            self._local.abort()
        # The module knows at once that its link died: AT+MQTTCONN? must not report it
        # connected while paho's thread has yet to notice.
        self._lost(LinkLost.CLOSED)
        return True

    async def subscribe(
        self, topic: str, qos: int, cfg: ClientSettings, on_retry: Callable[[int], None]
    ) -> Ack:
        """Granted QoS (0..2), 0x80 for a refusal, None when no SUBACK came."""
        if not self.connected or self._client is None:
            return None
        rc, mid = self._client.subscribe(topic, qos)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            return None
        return await self._await_mid(mid, cfg, on_retry)

    async def unsubscribe(
        self, topic: str, cfg: ClientSettings, on_retry: Callable[[int], None]
    ) -> Ack:
        if not self.connected or self._client is None:
            return None
        rc, mid = self._client.unsubscribe(topic)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            return None
        return await self._await_mid(mid, cfg, on_retry)

    async def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int,
        retain: bool,
        cfg: ClientSettings,
        on_retry: Callable[[int], None],
    ) -> bool:
        """True once the broker acknowledged it (QoS 0: once it was written)."""
        if not self.connected or self._client is None:
            return False
        info = self._client.publish(topic, payload, qos, retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_QUEUE_SIZE):
            return False
        return await self._await_mid(info.mid, cfg, on_retry) is not None

    async def _await_mid(
        self, mid: int, cfg: ClientSettings, on_retry: Callable[[int], None]
    ) -> Ack:
        fut: asyncio.Future[Ack] = self._loop.create_future()
        self._acks[mid] = fut
        try:
            return await self._await_ack(fut, cfg, on_retry)
        finally:
            if self._acks.get(mid) is fut:
                del self._acks[mid]

    async def _await_ack(
        self, fut: asyncio.Future[Ack], cfg: ClientSettings, on_retry: Callable[[int], None]
    ) -> Ack:
        """Wait ``pkt_timeout`` per attempt for ``retry`` + 1 attempts.

        TCP already guarantees delivery and MQTT 3.1.1 resends only after a reconnect, so
        a "retransmission" here is another packet-timeout of waiting, announced through
        ``on_retry`` (the ``,1,<n>`` progress line) when ``timeout_notice`` is on.
        """
        for attempt in range(cfg.retry + 1):
            try:
                async with asyncio.timeout(cfg.pkt_timeout):
                    return await asyncio.shield(fut)
            except TimeoutError:
                if attempt < cfg.retry and cfg.timeout_notice:
                    on_retry(attempt + 1)
        return None

    async def _retire_client(self) -> None:
        """Stop the paho client and join its thread; its end of the splice is cut first so
        the thread wakes and ends (the broker link then closes after its last bytes)."""
        client, self._client = self._client, None
        local, self._local = self._local, None
        self.connected = False
        if local is not None:
            local.abort()
        if client is None:
            return
        await asyncio.to_thread(client.loop_stop)
        sock = client.socket()
        if sock is not None:
            sock.close()
        self._fail_waiters()

    def _fail_waiters(self) -> None:
        for fut in [*self._acks.values(), self._connack, self._gone]:
            if fut is not None and not fut.done():
                fut.set_result(None)
        self._acks.clear()

    # paho thread → asyncio loop -------------------------------------------------------

    def _post(self, func: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed while paho was finishing
            self._loop.call_soon_threadsafe(func, *args)

    def _cb_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        code = _CONNACK_RETURN_CODES.get(reason.getName(), ConnackCode.SERVER_UNAVAILABLE)
        self._post(self._resolve_connack, client, code)

    def _cb_disconnect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        keepalive = reason.getName() == "Keep alive timeout"
        self._post(self._link_gone, client, LinkLost.KEEPALIVE if keepalive else LinkLost.CLOSED)

    def _cb_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        incoming = Incoming(wire_topic(message), bytes(message.payload), message.mid)
        self._post(self._deliver, client, incoming)

    def _cb_subscribe(
        self, client: mqtt.Client, _u: Any, mid: int, codes: list[ReasonCode], _p: Any
    ) -> None:
        self._post(self._resolve, client, mid, codes[0].value if codes else 0x80)

    def _cb_unsubscribe(self, client: mqtt.Client, _u: Any, mid: int, _c: Any, _p: Any) -> None:
        self._post(self._resolve, client, mid, 0)

    def _cb_publish(self, client: mqtt.Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        self._post(self._resolve, client, mid, 0)

    # asyncio loop side: ignore whatever a retired client still reports

    def _resolve_connack(self, client: mqtt.Client, code: int) -> None:
        if client is self._client and self._connack is not None and not self._connack.done():
            self._connack.set_result(code)

    def _resolve(self, client: mqtt.Client, mid: int, code: int) -> None:
        fut = self._acks.get(mid)
        if client is self._client and fut is not None and not fut.done():
            fut.set_result(code)

    def _deliver(self, client: mqtt.Client, message: Incoming) -> None:
        if client is self._client:
            self._on_message(message)

    def _link_gone(self, client: mqtt.Client, cause: LinkLost) -> None:
        if client is self._client:
            self._lost(cause)

    def _lost(self, cause: LinkLost) -> None:
        """The link died under a connected client: report it once (not after DISC or CLOSE)."""
        was_connected, self.connected = self.connected, False
        self._fail_waiters()
        if was_connected:
            self._on_lost(cause)
