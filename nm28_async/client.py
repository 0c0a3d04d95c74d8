"""MqttClient: one of the module's six MQTT client indexes, with its own message queue."""

from __future__ import annotations

import enum
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from .engine import DEFAULT_PKT_TIMEOUT, DEFAULT_RETRIES, Engine, network_timeout
from .errors import (
    CloseError,
    ConnectError,
    CtwingVersionError,
    DisconnectError,
    Nm28Error,
    OpenError,
    PublishError,
    SubscribeError,
    UnsubscribeError,
)
from .protocol import commands, limits
from .protocol.codes import OpenResult
from .protocol.commands import Command
from .protocol.events import Message
from .protocol.results import (
    Answer,
    CloseAnswer,
    ConnectAnswer,
    CtwingVersionAnswer,
    DisconnectAnswer,
    OpenAnswer,
    PublishAnswer,
    SubscribeAnswer,
    UnsubscribeAnswer,
)

log = logging.getLogger("nm28_async")

A = TypeVar("A", bound=Answer)


class ClientState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    CONNECTED = "connected"


@dataclass(frozen=True, slots=True)
class Will:
    """A last will: published by the broker when this client's link drops."""

    topic: str
    message: str = ""
    qos: int = 0
    retain: bool = False


Timing = tuple[int, int, bool]
"""`AT+MQTTCFG="timeout"`: packet timeout, retries, timeout notice (one command sets all)."""
Receive = tuple[bool, bool]
"""`AT+MQTTCFG="recv/mode"`: payload in the URC, length field (one command sets both)."""
FACTORY_TIMING: Timing = (DEFAULT_PKT_TIMEOUT, DEFAULT_RETRIES, False)
FACTORY_RECEIVE: Receive = (True, True)


def settings_commands(
    index: int,
    *,
    version: int | None = None,
    pdpcid: int | None = None,
    ssl: bool | None = None,
    ssl_ctx: int = 0,
    keepalive: int | None = None,
    clean_session: bool | None = None,
    pkt_timeout: int | None = None,
    retries: int | None = None,
    timeout_notice: bool | None = None,
    will: Will | bool | None = False,
    payload_in_urc: bool | None = None,
    length_field: bool | None = None,
    cached: bool | None = None,
    timing_now: Timing = FACTORY_TIMING,
    receive_now: Receive = FACTORY_RECEIVE,
) -> tuple[list[Command], Timing, Receive]:
    """The `AT+MQTTCFG` commands for the settings given, and only those (ValueError for a bad
    one), with the timing and receive settings they leave. A setting that shares its command
    with one given keeps its value from `timing_now` / `receive_now`."""
    batch: list[Command] = []
    if version is not None:
        batch.append(commands.cfg_version(index, version))
    if pdpcid is not None:
        batch.append(commands.cfg_pdpcid(index, pdpcid))
    if ssl is not None:
        batch.append(commands.cfg_ssl(index, ssl, ssl_ctx))
    if keepalive is not None:
        batch.append(commands.cfg_keepalive(index, keepalive))
    if clean_session is not None:
        batch.append(commands.cfg_session(index, clean_session))
    timing = (
        timing_now[0] if pkt_timeout is None else pkt_timeout,
        timing_now[1] if retries is None else retries,
        timing_now[2] if timeout_notice is None else timeout_notice,
    )
    if (pkt_timeout, retries, timeout_notice) != (None, None, None):
        batch.append(commands.cfg_timeout(index, *timing))
    if will is not False:
        if not isinstance(will, Will | None):
            raise ValueError("will must be a Will, None (clear) or left out")
        batch.append(
            commands.cfg_will(index, None)
            if will is None
            else commands.cfg_will(index, will.topic, will.message, will.qos, will.retain)
        )
    receive = (
        receive_now[0] if payload_in_urc is None else payload_in_urc,
        receive_now[1] if length_field is None else length_field,
    )
    if (payload_in_urc, length_field) != (None, None):
        batch.append(commands.cfg_recv_mode(index, *receive))
    if cached is not None:
        batch.append(commands.cfg_cached(index, cached))
    return batch, timing, receive


class MqttClient:
    """One client index. Obtain it with `modem.client(index)`; never construct it directly."""

    def __init__(self, engine: Engine, index: int) -> None:
        self._engine = engine
        self.index = index
        self._queue = engine._messages(index)
        self._state = ClientState.CLOSED
        self._next_msg_id = 1
        self._msg_ids_in_flight: set[int] = set()
        self._timing = FACTORY_TIMING
        """What the module holds for this client: packet timeout, retries, timeout notice."""
        self._receive = FACTORY_RECEIVE
        """Payload in the URC, length field."""
        self._subscriptions: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"<MqttClient {self.index} {self._state.value}>"

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def subscriptions(self) -> Mapping[str, int]:
        """Topic filters subscribed through this object, with their granted QoS (read-only)."""
        return MappingProxyType(self._subscriptions)

    @property
    def dropped_messages(self) -> int:
        """Messages discarded because the queue was full (see `Overflow`)."""
        return self._queue.dropped

    @property
    def queued_messages(self) -> int:
        return len(self._queue)

    # --- configuration ----------------------------------------------------------------------

    async def configure(
        self,
        *,
        version: int | None = None,
        pdpcid: int | None = None,
        ssl: bool | None = None,
        ssl_ctx: int = 0,
        keepalive: int | None = None,
        clean_session: bool | None = None,
        pkt_timeout: int | None = None,
        retries: int | None = None,
        timeout_notice: bool | None = None,
        will: Will | bool | None = False,
        payload_in_urc: bool | None = None,
        length_field: bool | None = None,
        cached: bool | None = None,
    ) -> None:
        """Send `AT+MQTTCFG` for each setting given, and only those.

        `will=None` clears the will; the default (False) leaves it untouched. Every argument is
        validated before the first command is written.
        """
        batch, timing, receive = settings_commands(
            self.index,
            version=version,
            pdpcid=pdpcid,
            ssl=ssl,
            ssl_ctx=ssl_ctx,
            keepalive=keepalive,
            clean_session=clean_session,
            pkt_timeout=pkt_timeout,
            retries=retries,
            timeout_notice=timeout_notice,
            will=will,
            payload_in_urc=payload_in_urc,
            length_field=length_field,
            cached=cached,
            timing_now=self._timing,
            receive_now=self._receive,
        )
        for command in batch:
            await self._engine._execute(command)
        self._timing = timing
        if (payload_in_urc, length_field) != (None, None):
            self._receive = receive
            self._engine._set_length_field(self.index, receive[1])

    # --- network and session ----------------------------------------------------------------

    async def open(self, host: str, port: int) -> None:
        """Open the client's network connection (`AT+MQTTOPEN`); OpenError carries the result."""
        answer = await self._answer(commands.open_network(self.index, host, port), OpenAnswer)
        if answer.result != OpenResult.OK:
            raise OpenError(self.index, answer.result)
        self._state = ClientState.OPEN

    async def close(self) -> None:
        """Close the network connection (`AT+MQTTCLOSE`)."""
        answer = await self._answer(commands.close_network(self.index), CloseAnswer)
        if answer.result != 0:
            raise CloseError(self.index, answer.result)
        self._state = ClientState.CLOSED
        self._subscriptions.clear()

    async def connect(self, client_id: str, username: str = "", password: str = "") -> None:
        """MQTT CONNECT (`AT+MQTTCONN`); ConnectError carries the result and CONNACK ret_code."""
        command = commands.connect(self.index, client_id, username, password)
        answer = await self._answer(command, ConnectAnswer)
        if answer.result != 0 or answer.ret_code != 0:
            raise ConnectError(self.index, answer.result, answer.ret_code)
        self._state = ClientState.CONNECTED

    async def disconnect(self) -> None:
        """MQTT DISCONNECT (`AT+MQTTDISC`)."""
        answer = await self._answer(commands.disconnect(self.index), DisconnectAnswer)
        if answer.result != 0:
            raise DisconnectError(self.index, answer.result)
        self._state = ClientState.OPEN

    # --- subscriptions and publishing -------------------------------------------------------

    async def subscribe(self, topic: str, qos: int = 0) -> int:
        """Subscribe; returns the QoS the broker granted."""
        with self._msg_id() as msg_id:
            command = commands.subscribe(self.index, msg_id, topic, qos)
            answer = await self._answer(command, SubscribeAnswer)
        if answer.result != 0:
            raise SubscribeError(self.index, answer.result)
        granted = qos if answer.value is None else answer.value
        if granted not in limits.QOS_LEVELS:
            raise SubscribeError(self.index, granted)
        self._subscriptions[topic] = granted
        return granted

    async def unsubscribe(self, topic: str) -> None:
        with self._msg_id() as msg_id:
            command = commands.unsubscribe(self.index, msg_id, topic)
            answer = await self._answer(command, UnsubscribeAnswer)
        if answer.result != 0:
            raise UnsubscribeError(self.index, answer.result)
        self._subscriptions.pop(topic, None)

    async def publish(
        self,
        topic: str,
        payload: bytes | bytearray | memoryview | str,
        qos: int = 0,
        retain: bool = False,
        *,
        publish_type: int = 0,
        ctrl_z: bool = True,
    ) -> int:
        """Publish (`AT+MQTTPUBEX`); returns the msgID used. str payloads are sent as UTF-8.

        `publish_type` 1/2 send OneNet data points (payload must be their JSON).
        """
        with self._msg_id() as msg_id:
            command = commands.publish(
                self.index,
                msg_id,
                topic,
                payload,
                qos=qos,
                retain=retain,
                publish_type=publish_type,
                ctrl_z=ctrl_z,
            )
            answer = await self._answer(command, PublishAnswer)
        for code in answer.results:
            if code != 0:
                raise PublishError(self.index, code)
        return msg_id

    async def post_ctwing_version(self) -> None:
        """`AT+CTWINGPOSTVER`: report firmware version to CTWing, subscribe to upgrades."""
        command = commands.ctwing_post_version(self.index)
        answer = await self._answer(command, CtwingVersionAnswer)
        if answer.result != 0:
            raise CtwingVersionError(self.index, answer.result)

    def messages(self) -> AsyncIterator[Message]:
        """Iterate received messages. Ends when the modem closes; raises if the port is lost."""
        return self._queue.items()

    # --- the engine's side -----------------------------------------------------------------

    def _reset(self) -> None:
        """The module forgot this client (reboot): closed, factory settings."""
        self._state = ClientState.CLOSED
        self._timing = FACTORY_TIMING
        self._receive = FACTORY_RECEIVE
        self._subscriptions.clear()

    async def _answer(self, command: Command, kind: type[A]) -> A:
        """Run a command whose result line completes it; its typed answer."""
        engine = self._engine
        pkt_timeout, retries, _ = self._timing
        limit = engine.result_timeout or network_timeout(
            pkt_timeout, retries, engine.command_timeout
        )
        done = await engine._execute(command, result_timeout=limit)
        answer = done.answer
        if not isinstance(answer, kind):
            raise Nm28Error(f"{command.log_text}: answered {answer!r}")
        return answer

    def _msg_id(self) -> _MsgId:
        return _MsgId(self)

    def _allocate_msg_id(self) -> int:
        """The next message id (1..65535) not in flight on this client."""
        for _ in range(len(limits.MSG_IDS)):
            msg_id = self._next_msg_id
            self._next_msg_id = msg_id + 1 if msg_id < limits.MSG_IDS.stop - 1 else 1
            if msg_id not in self._msg_ids_in_flight:
                self._msg_ids_in_flight.add(msg_id)
                return msg_id
        raise Nm28Error("all 65535 message ids are in flight")

    def _release_msg_id(self, msg_id: int) -> None:
        self._msg_ids_in_flight.discard(msg_id)


class _MsgId:
    """Holds a message id for the duration of one command."""

    def __init__(self, client: MqttClient) -> None:
        self._client = client
        self._msg_id = 0

    def __enter__(self) -> int:
        self._msg_id = self._client._allocate_msg_id()
        return self._msg_id

    def __exit__(self, *exc: object) -> None:
        self._client._release_msg_id(self._msg_id)
