"""Supervision: keep one client configured, open, connected and subscribed through outages.

Opt-in, above MqttClient: `async with modem.session(index, host, port, client_id=...) as s:`.
A lost link is found three ways: a command failing, the module's reboot banner (or a status
URC the caller registers), and a periodic `AT+MQTTCONN?` poll, since the manual documents no
connection-lost URC.

A failed command does not by itself mean a lost link: the module answers `ERROR`, or result 2
("send failed"), both when the broker refuses one filter or topic and when the link is dead.
So the supervisor asks `AT+MQTTCONN?`: if the module still reports the client connected, that
one command was refused (the call raises, the link and the other subscriptions stay);
otherwise the link is lost and the supervisor reconnects. Every reconnection waits its
backoff delay first, so nothing that fails at once can make a reconnect storm.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import anyio

from ..client import MqttClient
from ..engine import Engine, MessageQueue
from ..errors import (
    ModemClosedError,
    ModuleRebootedError,
    Nm28Error,
    Nm28TimeoutError,
    NotConnectedError,
    OutboxFullError,
    PortLostError,
)
from ..outbox import Entry, OutboxStats, OutboxStore, Policy
from ..overflow import Overflow
from ..protocol import commands
from ..protocol.events import Final, Message, Urc
from ..tasks import first_leaf
from .backoff import Backoff
from .establish import establish, reported_up
from .outbox_link import SessionOutbox
from .params import ConnectionParams
from .radio_guard import GuardFactory
from .states import LinkState, StateChange
from .status_urc import default_status_urc

log = logging.getLogger("nm28_async")

T = TypeVar("T")

REFUSED_PUBLISH_ATTEMPTS = 3
"""How many times a waiting publish is tried while the module refuses it on a live link."""
_CHECK_MSG_ID = 1
"""Any valid message id: the encoders check a call's arguments with it, nothing is sent."""


def _nothing() -> None:
    pass


class Session:
    """A supervised client. States come as `session.state` and from `session.states()`.

    Every argument is checked here, so `modem.session(...)` raises ValueError at the call.
    """

    def __init__(
        self,
        modem: Engine,
        client: MqttClient,
        params: ConnectionParams,
        *,
        backoff: Backoff | None = None,
        poll_interval: float = 30.0,
        outbox_size: int = 100,
        publish_timeout: float | None = 60.0,
        status_urc: Callable[[Urc], bool] | None = None,
        outbox: str | os.PathLike[str] | None = None,
        outbox_policy: Policy | None = None,
        radio: GuardFactory | None = None,
    ) -> None:
        if outbox is not None and not isinstance(outbox, str | os.PathLike):
            raise ValueError(f"outbox must be a path or None, got {type(outbox).__name__}")
        if backoff is not None and not isinstance(backoff, Backoff):
            raise ValueError(f"backoff must be a Backoff, got {type(backoff).__name__}")
        commands.check_duration("poll_interval", poll_interval)
        commands.check_int("outbox_size", outbox_size, range(1, 1 << 31))
        commands.check_duration("publish_timeout", publish_timeout, optional=True)
        if status_urc is not None and not callable(status_urc):
            raise ValueError("status_urc must be a function of a URC, or None")
        self._modem = modem
        self.client = client
        self.params = params
        self._backoff = backoff or Backoff()
        self._poll_interval = poll_interval
        self._outbox_size = outbox_size
        self._publish_timeout = publish_timeout
        self._status_urc = status_urc or default_status_urc(client.index)
        self._subscriptions: dict[str, int] = {}
        """Filters the broker granted, re-made after every reconnect."""
        self._state = LinkState.CLOSED
        self._states: MessageQueue[StateChange] = MessageQueue(256, Overflow.DROP_OLDEST)
        self._connected = asyncio.Event()
        """Set while CONNECTED, and for good once the session ended (see `_ended`)."""
        self._generation = 0
        """Counts connections: a failure seen on an earlier one must not drop the current."""
        self._ended: Nm28Error | None = None
        self._failure: Nm28Error | None = None
        """Set when the supervisor itself failed (a bug): raised when the session is left."""
        self._wake = asyncio.Event()
        """Set when the link is lost (`_lost_reason` says why) or must be checked now."""
        self._lost_reason: str | None = None
        self._waiting_publishes = 0
        self.reconnects = 0
        self.outbox_path = outbox
        self.outbox_policy = outbox_policy or Policy(size=outbox_size)
        self._outbox: SessionOutbox | None = None
        self._radio = None if radio is None else radio(self._set_state)
        """The radio's part in each attempt (`recovery=`): registration first, the ladder."""

    def __repr__(self) -> str:
        p = self.params
        return f"<Session client {self.client.index} {p.host}:{p.port} {self._state.value}>"

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
        commands.check_duration("timeout", timeout, optional=True)
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

    async def subscribe(self, topic: str, qos: int = 0, *, timeout: float | None = None) -> int:
        """Subscribe once the link is up, and again after every reconnect; the granted QoS.

        Waits for the link up to `timeout` (default: the session's `publish_timeout`). A
        filter the broker or module refuses on a live link raises (SubscribeError,
        CommandError) and is not kept; so is one whose subscribe failed in any other way.
        """
        commands.subscribe(self.client.index, _CHECK_MSG_ID, topic, qos)
        commands.check_duration("timeout", timeout, optional=True)
        self._subscriptions.pop(topic, None)
        granted = await self._on_link(
            lambda: self.client.subscribe(topic, qos), f"subscribe to {topic!r}", timeout
        )
        self._subscriptions[topic] = qos
        return granted

    async def unsubscribe(self, topic: str, *, timeout: float | None = None) -> None:
        """Stop re-making the subscription, and unsubscribe once the link is up."""
        commands.unsubscribe(self.client.index, _CHECK_MSG_ID, topic)
        commands.check_duration("timeout", timeout, optional=True)
        self._subscriptions.pop(topic, None)
        await self._on_link(
            lambda: self.client.unsubscribe(topic), f"unsubscribe from {topic!r}", timeout
        )

    async def publish(
        self,
        topic: str,
        payload: bytes | bytearray | memoryview | str,
        qos: int = 0,
        retain: bool = False,
        *,
        publish_type: int = 0,
        wait: bool = True,
        timeout: float | None = None,
    ) -> int:
        """Publish; succeeds or raises, never drops silently. `publish_type` as for
        `MqttClient.publish` (1/2: OneNet data points).

        `wait=True` waits for the link (bounded outbox, `timeout`, default the session's
        `publish_timeout`) and retries after a reconnect; a publish the module refuses on a
        live link is tried REFUSED_PUBLISH_ATTEMPTS times, backoff delays apart, then raises.
        `wait=False` tries once (bounded by `timeout` too), and fails fast with
        NotConnectedError while the link is down. A publish that timed out or was cancelled
        has an unknown outcome: the message may still be published.
        """
        commands.publish(
            self.client.index, _CHECK_MSG_ID, topic, payload, qos=qos, retain=retain,
            publish_type=publish_type,
        )  # fmt: skip
        commands.check_duration("timeout", timeout, optional=True)

        def attempt() -> Awaitable[int]:
            return self.client.publish(topic, payload, qos, retain, publish_type=publish_type)

        if not wait:
            return await self._on_link(attempt, "publish", timeout, wait=False)
        if self._waiting_publishes >= self._outbox_size:
            raise OutboxFullError(f"{self._waiting_publishes} publishes already wait for the link")
        self._waiting_publishes += 1
        try:
            return await self._on_link(
                attempt, "publish", timeout, attempts=REFUSED_PUBLISH_ATTEMPTS
            )
        finally:
            self._waiting_publishes -= 1

    # --- the outbox (store and forward) -----------------------------------------------------

    async def enqueue(
        self,
        topic: str,
        payload: bytes | bytearray | memoryview | str,
        qos: int = 0,
        retain: bool = False,
    ) -> int:
        """Store a message for delivery; its entry id, once stored (committed to disk with
        `outbox=`). One sender delivers stored entries in order whenever the link is up.
        Arguments are checked as `publish` checks them, before anything is stored."""
        return await self._running_outbox().enqueue(topic, payload, qos, retain)

    @property
    def outbox_stats(self) -> OutboxStats:
        """depth, oldest_age, delivered, expired, dropped, dead."""
        return self._running_outbox().stats

    async def flush(self, timeout: float) -> None:
        """Wait until every entry stored so far is delivered (or dead, or expired)."""
        await self._running_outbox().flush(timeout)

    def _running_outbox(self) -> SessionOutbox:
        if self._outbox is None:
            raise NotConnectedError(f"the session of client {self.client.index} is not running")
        return self._outbox

    def attach_outbox(self, store: OutboxStore) -> None:
        """Take `store` as the outbox: entries may be stored from now on."""
        self._outbox = SessionOutbox(store, self._publish_entry, self._connected.wait)

    def detach_outbox(self) -> None:
        """The store is closing: further calls say the session is not running."""
        self._outbox = None

    async def send_outbox(self) -> None:
        """Deliver the outbox until the session ends (run beside the supervisor)."""
        await self._running_outbox().run(lambda: self._ended is not None)

    async def _publish_entry(self, entry: Entry) -> None:
        await self._on_link(
            lambda: self.client.publish(entry.topic, entry.payload, entry.qos, entry.retain),
            f"outbox entry {entry.id}",
            None,
        )

    def link_lost(self, reason: str) -> None:
        """Report a lost link (commands failing, status URC); the supervisor reconnects."""
        self._lose(self._generation, reason)

    # --- running a call on the link --------------------------------------------------------

    async def _on_link(
        self,
        operation: Callable[[], Awaitable[T]],
        what: str,
        timeout: float | None,
        *,
        attempts: int = 1,
        wait: bool = True,
    ) -> T:
        """Run `operation` once the link is up; after a lost link, again on the next one.

        Refused on a live link, it is tried `attempts` times in all, then its error raises.
        With `wait=False` it runs at most once: NotConnectedError while the link is down.
        """
        limit = self._publish_timeout if timeout is None else timeout
        refusals = 0
        try:
            with anyio.fail_after(limit):
                while True:
                    if wait:
                        await self._connected.wait()
                    if self._ended is not None:
                        raise self._ended
                    if self._state is not LinkState.CONNECTED:
                        raise NotConnectedError(
                            f"client {self.client.index} is {self._state.value}"
                        )
                    generation = self._generation
                    try:
                        return await operation()
                    except (ModemClosedError, PortLostError):
                        raise
                    except Nm28Error as exc:
                        refused = await self._refused(exc, what, generation)
                        if not wait:
                            raise
                        if not refused:
                            log.info("%s on client %d will be retried", what, self.client.index)
                            continue
                        refusals += 1
                        if refusals >= attempts:
                            raise
                        await anyio.sleep(self._backoff.delay(refusals - 1))
        except TimeoutError as exc:
            if isinstance(exc, Nm28Error):
                raise  # the command's own timeout, on a live link
            raise Nm28TimeoutError(
                f"{what} on client {self.client.index} not done within {limit:g} s"
            ) from None

    async def _refused(self, exc: Nm28Error, what: str, generation: int) -> bool:
        """A command failed: True if the module still reports the link up (the command was
        refused); otherwise report the link lost and return False."""
        if not isinstance(exc, ModuleRebootedError) and await self._link_up():
            log.warning("client %d: %s refused on a live link: %s", self.client.index, what, exc)
            return True
        self._lose(generation, f"{what} failed: {exc}")
        return False

    async def _link_up(self) -> bool:
        return await reported_up(self._modem, self.client.index)

    def _lose(self, generation: int, reason: str) -> None:
        if (
            self._state is LinkState.CONNECTED
            and self._ended is None
            and generation == self._generation
        ):
            log.warning("client %d link lost: %s", self.client.index, reason)
            self._lost_reason = reason
            self._connected.clear()
            self._wake.set()

    # --- the supervisor task ---------------------------------------------------------------

    async def run(self) -> None:
        """Connect, watch, and reconnect with backoff until cancelled or the modem is gone.

        Never raises but for cancellation: it runs in a task group beside the caller's code,
        where an exception would cancel that code and come out wrapped in an ExceptionGroup.
        A failure of its own ends the session with an Nm28Error instead.
        """
        remove_urc = self._modem.add_urc_listener(self._on_urc)
        remove_final = self._modem.add_unexpected_final_listener(self._on_unexpected_final)
        remove_reboot = self._modem.add_reboot_listener(self._on_reboot)
        remove_radio = self._radio.watch(self.link_lost) if self._radio else _nothing
        reason = "session ended"
        error: Nm28Error | None = None
        try:
            async with anyio.create_task_group() as tasks:
                # the port can vanish while the supervisor sleeps or watches: end at once
                tasks.start_soon(self._end_with_modem, tasks.cancel_scope)
                reason = await self._supervise()
                tasks.cancel_scope.cancel()
        except Exception as exc:
            log.exception("the supervisor of client %d failed", self.client.index)
            error = self._failure = Nm28Error(
                f"the supervisor of client {self.client.index} failed: {first_leaf(exc)!r}"
            )
            error.__cause__ = exc
            reason = str(error)
        finally:
            remove_urc()
            remove_final()
            remove_reboot()
            remove_radio()
            if error is None and self._modem.closed:
                error = await self._modem.wait_closed()  # returns at once: it does not suspend
                reason = str(error)
            self._end(reason, error)

    def raise_if_failed(self) -> None:
        """Raise the supervisor's own failure, if it had one."""
        if self._failure is not None:
            raise self._failure

    async def _end_with_modem(self, scope: anyio.CancelScope) -> None:
        await self._modem.wait_closed()
        scope.cancel()

    def _end(self, reason: str, error: Nm28Error | None) -> None:
        """The session is over: fail every waiting call, end `states()`."""
        if self._ended is None:
            self._ended = error or NotConnectedError(
                f"the session of client {self.client.index} ended"
            )
        self._connected.set()  # wakes waiters, which then raise `_ended`
        if self._state is not LinkState.CLOSED:
            self._set_state(LinkState.CLOSED, reason)
        self._states.close()

    async def _supervise(self) -> str:
        """Connect and watch until the modem is gone; return why."""
        attempt = 0
        while True:
            reboots = self._modem.reboots
            try:
                if self._radio is not None:
                    await self._radio.ready()
                self._set_state(LinkState.CONNECTING, "connecting")
                refused = await establish(
                    self.client, self.params, self._subscriptions, self._link_up
                )
                if self._modem.reboots != reboots:
                    # the module forgot part of what was just set up (its configuration)
                    raise ModuleRebootedError("the module rebooted while connecting")
            except (ModemClosedError, PortLostError) as exc:
                return str(exc)
            except Nm28Error as exc:
                if self._radio is not None:
                    await self._radio.failed(exc)
                await self._back_off(attempt, str(exc))
                attempt += 1
                continue
            if self._radio is not None:
                self._radio.succeeded()
            up_since = anyio.current_time()
            self._generation += 1
            self._lost_reason = None
            self._wake.clear()
            note = f" (resubscription refused: {', '.join(refused)})" if refused else ""
            self._set_state(LinkState.CONNECTED, "connected" + note)
            self._connected.set()
            try:
                reason = await self._watch()
            except (ModemClosedError, PortLostError) as exc:
                return str(exc)
            finally:
                self._connected.clear()
            self.reconnects += 1
            if anyio.current_time() - up_since >= self._backoff.maximum:
                attempt = 0  # the link was stable: start the delays afresh
            await self._back_off(attempt, reason)
            attempt += 1

    async def _back_off(self, attempt: int, reason: str) -> None:
        delay = self._backoff.delay(attempt)
        self._set_state(LinkState.BACKING_OFF, f"{reason}; retry in {delay:.2f} s")
        await anyio.sleep(delay)

    async def _watch(self) -> str:
        """Return the reason the link is considered lost."""
        while True:
            with anyio.move_on_after(self._poll_interval):
                await self._wake.wait()
            if self._lost_reason is not None:
                return f"link lost: {self._lost_reason}"
            self._wake.clear()
            if not await self._link_up():
                return "poll: the module reports the client disconnected"

    def _on_unexpected_final(self, final: Final) -> None:
        """A final code nobody waited for: the module may have lost state. Poll now."""
        if self._state is LinkState.CONNECTED:
            log.info("client %d: unexpected %s, checking the link", self.client.index, final)
            self._wake.set()

    def _on_reboot(self, banner: Urc) -> None:
        self.link_lost("module rebooted")

    def _on_urc(self, urc: Urc) -> None:
        if self._status_urc(urc):
            self.link_lost(f"status URC {urc}")

    def _set_state(self, state: LinkState, reason: str) -> None:
        self._state = state
        log.info("client %d: %s (%s)", self.client.index, state.value, reason)
        self._states.put_nowait(StateChange(state, reason))
