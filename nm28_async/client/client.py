"""MqttClient: one of the module's six MQTT client indexes, with its own message queue."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import AsyncIterator, Awaitable, Mapping
from types import MappingProxyType
from typing import TypeVar, Unpack

from ..engine import Engine
from ..errors import Nm28Error, Nm28TimeoutError
from ..protocol import commands, limits
from ..protocol.commands import Command
from ..protocol.events import Message, Urc
from ..protocol.results import Answer
from . import answers
from .answers import Expected
from .msg_ids import MsgIds
from .settings import FACTORY_RECEIVE, FACTORY_TIMING, MqttSettings, settings_commands

log = logging.getLogger("nm28_async")

A = TypeVar("A", bound=Answer)
T = TypeVar("T")


class ClientState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    CONNECTED = "connected"


class MqttClient:
    """One client index. Obtain it with `modem.client(index)`; never construct it directly.

    Every call takes `timeout=` (positive seconds), which bounds the whole call, prompt and
    network result included; a call that times out raises `Nm28TimeoutError` and leaves the
    channel usable for the next command.
    """

    def __init__(self, engine: Engine, index: int) -> None:
        self._engine = engine
        self.index = index
        self._queue = engine.messages(index)
        self._state = ClientState.CLOSED
        self._msg_ids = MsgIds()
        self._timing = FACTORY_TIMING
        """What the module holds for this client: packet timeout, retries, timeout notice."""
        self._receive = FACTORY_RECEIVE
        """Payload in the URC, length field."""
        self._subscriptions: dict[str, int] = {}
        engine.add_reboot_listener(self._forget)

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
        self, *, timeout: float | None = None, **settings: Unpack[MqttSettings]
    ) -> None:
        """Send `AT+MQTTCFG` for each setting given, and only those.

        `will=None` clears the will; leaving it out (or False) leaves it untouched. Every
        argument is validated before the first command is written.
        """
        commands.check_duration("timeout", timeout, optional=True)
        batch, timing, receive = settings_commands(
            self.index, settings, self._timing, self._receive
        )

        async def send() -> None:
            for command in batch:
                await self._engine.execute(command)

        await _bounded(send(), timeout, f"configuring client {self.index}")
        self._timing = timing
        if (settings.get("payload_in_urc"), settings.get("length_field")) != (None, None):
            self._receive = receive
            self._engine.set_length_field(self.index, receive[1])

    # --- network and session ----------------------------------------------------------------

    async def open(self, host: str, port: int, *, timeout: float | None = None) -> None:
        """Open the client's network connection (`AT+MQTTOPEN`); OpenError carries the result."""
        await self._run(commands.open_network(self.index, host, port), answers.OPEN, timeout)
        self._state = ClientState.OPEN

    async def close(self, *, timeout: float | None = None) -> None:
        """Close the network connection (`AT+MQTTCLOSE`)."""
        await self._run(commands.close_network(self.index), answers.CLOSE, timeout)
        self._state = ClientState.CLOSED
        self._subscriptions.clear()

    async def connect(
        self,
        client_id: str,
        username: str = "",
        password: str = "",
        *,
        timeout: float | None = None,
    ) -> None:
        """MQTT CONNECT (`AT+MQTTCONN`); ConnectError carries the result and CONNACK ret_code."""
        command = commands.connect(self.index, client_id, username, password)
        await self._run(command, answers.CONNECT, timeout)
        self._state = ClientState.CONNECTED

    async def disconnect(self, *, timeout: float | None = None) -> None:
        """MQTT DISCONNECT (`AT+MQTTDISC`)."""
        await self._run(commands.disconnect(self.index), answers.DISCONNECT, timeout)
        self._state = ClientState.OPEN

    # --- subscriptions and publishing -------------------------------------------------------

    async def subscribe(self, topic: str, qos: int = 0, *, timeout: float | None = None) -> int:
        """Subscribe; returns the QoS the broker granted."""
        with self._msg_ids.held() as msg_id:
            command = commands.subscribe(self.index, msg_id, topic, qos)
            answer = await self._run(command, answers.SUBSCRIBE, timeout)
        granted = qos if answer.value is None else answer.value
        self._subscriptions[topic] = granted
        return granted

    async def unsubscribe(self, topic: str, *, timeout: float | None = None) -> None:
        with self._msg_ids.held() as msg_id:
            command = commands.unsubscribe(self.index, msg_id, topic)
            await self._run(command, answers.UNSUBSCRIBE, timeout)
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
        timeout: float | None = None,
    ) -> int:
        """Publish (`AT+MQTTPUBEX`); returns the msgID used. str payloads are sent as UTF-8.

        `publish_type` 1/2 send OneNet data points (payload must be their JSON).
        """
        with self._msg_ids.held() as msg_id:
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
            await self._run(command, answers.PUBLISH, timeout)
        return msg_id

    async def post_ctwing_version(self, *, timeout: float | None = None) -> None:
        """`AT+CTWINGPOSTVER`: report firmware version to CTWing, subscribe to upgrades."""
        await self._run(commands.ctwing_post_version(self.index), answers.CTWING_VERSION, timeout)

    def messages(self) -> AsyncIterator[Message]:
        """Iterate received messages. Ends when the modem closes; raises if the port is lost."""
        return self._queue.items()

    # --- the engine's side -----------------------------------------------------------------

    def _forget(self, banner: Urc) -> None:
        """The module rebooted and forgot this client: closed, factory settings."""
        self._state = ClientState.CLOSED
        self._timing = FACTORY_TIMING
        self._receive = FACTORY_RECEIVE
        self._subscriptions.clear()

    async def _run(self, command: Command, expected: Expected[A], timeout: float | None) -> A:
        """Run a command whose result line completes it; its typed answer, or its error."""
        commands.check_duration("timeout", timeout, optional=True)
        settings = self._engine.settings
        pkt_timeout, retries, _ = self._timing
        limit = settings.result_timeout or limits.network_timeout(
            pkt_timeout, retries, settings.command_timeout
        )
        execute = self._engine.execute(command, result_timeout=limit)
        done = await _bounded(execute, timeout, command.log_text)
        answer = done.answer
        if not isinstance(answer, expected.answer):
            raise Nm28Error(f"{command.log_text}: answered {answer!r}")
        error = expected.failure(self.index, answer)
        if error is not None:
            raise error
        return answer


async def _bounded(call: Awaitable[T], timeout: float | None, what: str) -> T:
    """`call`, given at most `timeout` seconds in all (None: the engine's own deadlines)."""
    if timeout is None:
        return await call
    try:
        async with asyncio.timeout(timeout):
            return await call
    except TimeoutError as exc:
        if isinstance(exc, Nm28TimeoutError):
            raise
        raise Nm28TimeoutError(f"{what}: no answer within {timeout} s") from None
