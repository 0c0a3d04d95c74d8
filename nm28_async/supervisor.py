"""Supervision: keep one client configured, open, connected and subscribed through outages.

Opt-in, above MqttClient: `async with modem.session(index, host, port, client_id=...) as s:`.
A lost link is found three ways: a command failing, the module's reboot banner (or a status
URC the caller registers), and a periodic `AT+MQTTCONN?` poll, since the manual documents no
connection-lost URC.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio

from .client import ClientState, MqttClient
from .connection import tear_down
from .engine import Engine, Urc
from .errors import (
    ModemClosedError,
    ModuleRebootedError,
    Nm28Error,
    Nm28TimeoutError,
    NotConnectedError,
    OpenError,
    OutboxFullError,
    PortLostError,
)
from .protocol import commands
from .protocol.events import Final, Message, ResultLine
from .queues import MessageQueue, Overflow
from .tasks import background_tasks

log = logging.getLogger("nm28_async")

OPEN_INDEX_IN_USE = 2
CLEAN_UP_LIMIT = 5.0
"""Seconds each clean-up step (DISCONNECT, CLOSE) of a supervised client may take."""


class LinkState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKING_OFF = "backing off"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class StateChange:
    state: LinkState
    reason: str
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter between reconnection attempts."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        # the exponent is capped: factor**attempt overflows a float after ~1000 attempts
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return base * (1 + random.uniform(-self.jitter, self.jitter))


def default_status_urc(index: int) -> Callable[[Urc], bool]:
    """Matches `+MQTTSTAT: <idx>,<code>`-style connection-status URCs of some firmware."""

    def lost(urc: Urc) -> bool:
        return (
            isinstance(urc, ResultLine)
            and urc.name == "MQTTSTAT"
            and bool(urc.fields)
            and urc.fields[0] == str(index)
        )

    return lost


class Session:
    """A supervised client. States come as `session.state` and from `session.states()`."""

    def __init__(
        self,
        modem: Engine,
        client: MqttClient,
        host: str,
        port: int,
        *,
        client_id: str,
        username: str = "",
        password: str = "",
        config: dict[str, Any] | None = None,
        backoff: Backoff | None = None,
        poll_interval: float = 30.0,
        outbox_size: int = 100,
        publish_timeout: float | None = 60.0,
        status_urc: Callable[[Urc], bool] | None = None,
    ) -> None:
        self._modem = modem
        self.client = client
        self._host, self._port = host, port
        self._client_id, self._username, self._password = client_id, username, password
        self._config = dict(config or {})
        self._backoff = backoff or Backoff()
        self._poll_interval = poll_interval
        self._outbox_size = outbox_size
        self._publish_timeout = publish_timeout
        self._status_urc = status_urc or default_status_urc(client.index)
        self._subscriptions: dict[str, int] = {}
        self._state = LinkState.CLOSED
        self._states: MessageQueue[StateChange] = MessageQueue(256, Overflow.DROP_OLDEST)
        self._connected = asyncio.Event()
        """Set while CONNECTED, and for good once the session ended (see `_ended`)."""
        self._ended: Nm28Error | None = None
        self._lost = asyncio.Event()
        self._lost_reason = ""
        self._check = asyncio.Event()
        self._waiting_publishes = 0
        self._seen_reboots = modem.reboots
        self.reconnects = 0

    def __repr__(self) -> str:
        return f"<Session client {self.client.index} {self._host}:{self._port} {self._state.value}>"

    @property
    def state(self) -> LinkState:
        return self._state

    def states(self) -> AsyncIterator[StateChange]:
        """State changes as they happen; ends when the session ends."""
        return self._states.items()

    def messages(self) -> AsyncIterator[Message]:
        return self.client.messages()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait for the link; raises Nm28TimeoutError (a TimeoutError), or the reason the
        session ended."""
        try:
            with anyio.fail_after(timeout):
                await self._connected.wait()
        except TimeoutError:
            raise Nm28TimeoutError(
                f"client {self.client.index} not connected within {timeout:g} s"
            ) from None
        if self._ended is not None:
            raise self._ended

    # --- what the application calls --------------------------------------------------------

    async def subscribe(self, topic: str, qos: int = 0) -> None:
        """Subscribe now if connected, and again after every reconnect."""
        self._subscriptions[topic] = qos
        if self._state is LinkState.CONNECTED:
            try:
                await self.client.subscribe(topic, qos)
            except Nm28Error as exc:
                self.link_lost(f"subscribe failed: {exc}")

    async def unsubscribe(self, topic: str) -> None:
        self._subscriptions.pop(topic, None)
        if self._state is LinkState.CONNECTED:
            try:
                await self.client.unsubscribe(topic)
            except Nm28Error as exc:
                self.link_lost(f"unsubscribe failed: {exc}")
                raise

    async def publish(
        self,
        topic: str,
        payload: bytes | str,
        qos: int = 0,
        retain: bool = False,
        *,
        wait: bool = True,
        timeout: float | None = None,
    ) -> int:
        """Publish; succeeds or raises, never drops silently.

        `wait=True` waits for the link (bounded outbox, `timeout`, default the session's
        `publish_timeout`) and retries after a reconnect; `wait=False` fails fast with
        NotConnectedError while the link is down.
        """
        commands.check_topic(topic, wildcards=False)
        commands.as_payload(payload)
        if not wait:
            if self._ended is not None:
                raise self._ended
            if self._state is not LinkState.CONNECTED:
                raise NotConnectedError(f"client {self.client.index} is {self._state.value}")
            return await self._publish_once(topic, payload, qos, retain)
        if self._waiting_publishes >= self._outbox_size:
            raise OutboxFullError(f"{self._waiting_publishes} publishes already wait for the link")
        limit = self._publish_timeout if timeout is None else timeout
        self._waiting_publishes += 1
        try:
            with anyio.fail_after(limit):
                while True:
                    await self._connected.wait()
                    if self._ended is not None:
                        raise self._ended
                    try:
                        return await self._publish_once(topic, payload, qos, retain)
                    except (ModemClosedError, PortLostError):
                        raise
                    except Nm28Error as exc:
                        log.info("publish on client %d will be retried: %s", self.client.index, exc)
        except TimeoutError:
            raise Nm28TimeoutError(
                f"publish on client {self.client.index} not done within {limit:g} s"
            ) from None
        finally:
            self._waiting_publishes -= 1

    async def _publish_once(self, topic: str, payload: bytes | str, qos: int, retain: bool) -> int:
        try:
            return await self.client.publish(topic, payload, qos, retain)
        except Nm28Error as exc:
            self.link_lost(f"publish failed: {exc}")
            raise

    def link_lost(self, reason: str) -> None:
        """Report a lost link (commands failing, status URC); the supervisor reconnects."""
        if self._state is LinkState.CONNECTED and self._ended is None:
            log.warning("client %d link lost: %s", self.client.index, reason)
            self._lost_reason = reason
            self._connected.clear()
            self._lost.set()

    # --- the supervisor task ---------------------------------------------------------------

    async def run(self) -> None:
        """Connect, watch, and reconnect with backoff until cancelled or the modem is gone."""
        remove_urc = self._modem.add_urc_listener(self._on_urc)
        remove_final = self._modem.add_unexpected_final_listener(self._on_unexpected_final)
        reason = "session ended"
        try:
            async with anyio.create_task_group() as tasks:
                # the port can vanish while the supervisor sleeps or watches: end at once
                tasks.start_soon(self._end_with_modem, tasks.cancel_scope)
                reason = await self._supervise()
                tasks.cancel_scope.cancel()
        finally:
            remove_urc()
            remove_final()
            error = None
            if self._modem.closed:  # wait_closed() returns at once: it does not suspend
                error = await self._modem.wait_closed()
                reason = str(error)
            self._end(reason, error)

    async def _end_with_modem(self, scope: anyio.CancelScope) -> None:
        await self._modem.wait_closed()
        scope.cancel()

    def _end(self, reason: str, error: Nm28Error | None) -> None:
        """The session is over: fail every waiting publish, end `states()`."""
        if self._ended is None:
            self._ended = error or NotConnectedError(
                f"the session of client {self.client.index} ended"
            )
        self._connected.set()  # wakes waiters, which then raise `_ended`
        if self._state is not LinkState.CLOSED:
            self._set_state(LinkState.CLOSED, reason)
        self._states.close()

    async def _supervise(self) -> str:
        attempt = 0
        while True:
            self._set_state(LinkState.CONNECTING, "connecting")
            reboots = self._modem.reboots
            try:
                await self._establish()
                if self._modem.reboots != reboots:
                    # the module forgot part of what was just set up (its configuration)
                    raise ModuleRebootedError("the module rebooted while connecting")
            except (ModemClosedError, PortLostError) as exc:
                return str(exc)
            except ModuleRebootedError as exc:
                self._set_state(LinkState.BACKING_OFF, f"{exc}; retry at once")
                continue
            except Nm28Error as exc:
                delay = self._backoff.delay(attempt)
                attempt += 1
                self._set_state(LinkState.BACKING_OFF, f"{exc}; retry in {delay:.2f} s")
                await anyio.sleep(delay)
                continue
            attempt = 0
            self._lost.clear()
            self._check.clear()
            self._set_state(LinkState.CONNECTED, "connected")
            self._connected.set()
            try:
                reason = await self._watch()
            except (ModemClosedError, PortLostError) as exc:
                self._connected.clear()
                return str(exc)
            self._connected.clear()
            self.reconnects += 1
            self._set_state(LinkState.BACKING_OFF, reason)

    async def _establish(self) -> None:
        """Apply the configuration, reopen, reconnect, resubscribe."""
        client = self.client
        if self._config:
            await client.configure(**self._config)
        if client.state is not ClientState.CLOSED:
            await _release(client)
        try:
            await client.open(self._host, self._port)
        except OpenError as exc:
            if exc.code != OPEN_INDEX_IN_USE:
                raise
            await _release(client)  # the module still holds the old network: drop it
            await client.open(self._host, self._port)
        await client.connect(self._client_id, self._username, self._password)
        for topic, qos in list(self._subscriptions.items()):
            await client.subscribe(topic, qos)

    async def _watch(self) -> str:
        """Return the reason the link is considered lost."""
        while True:
            with anyio.move_on_after(self._poll_interval):
                async with anyio.create_task_group() as tasks:
                    for event in (self._lost, self._check):
                        tasks.start_soon(_set_then_cancel, event, tasks.cancel_scope)
            if self._lost.is_set():
                return f"link lost: {self._lost_reason}"
            self._check.clear()
            try:
                connections = await self._modem.query_connections()
            except (ModemClosedError, PortLostError):
                raise
            except Nm28Error as exc:
                return f"poll failed: {exc}"
            if not connections.get(self.client.index, False):
                return "poll: the module reports the client disconnected"

    def _on_unexpected_final(self, final: Final) -> None:
        """A final code nobody waited for: the module may have lost state. Poll now."""
        if self._state is LinkState.CONNECTED:
            log.info("client %d: unexpected %s, checking the link", self.client.index, final)
            self._check.set()

    def _on_urc(self, urc: Urc) -> None:
        if self._modem.reboots != self._seen_reboots:
            self._seen_reboots = self._modem.reboots
            self.link_lost("module rebooted")
        elif self._status_urc(urc):
            self.link_lost(f"status URC {urc}")

    def _set_state(self, state: LinkState, reason: str) -> None:
        self._state = state
        log.info("client %d: %s (%s)", self.client.index, state.value, reason)
        self._states.put_nowait(StateChange(state, reason))


@asynccontextmanager
async def supervised(session: Session) -> AsyncIterator[Session]:
    """Run the session's supervisor beside the caller's body; stop it on exit."""
    async with background_tasks() as tasks:
        tasks.start_soon(session.run)
        yield session
    await _release(session.client)


async def _release(client: MqttClient) -> None:
    """DISCONNECT then CLOSE, each bounded, so the module holds no network for the index."""
    await tear_down(client, client.disconnect, client.close, limit=CLEAN_UP_LIMIT)


async def _set_then_cancel(event: asyncio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()
