"""Supervision: keep one client configured, open, connected and subscribed through outages.

Opt-in, above MqttClient: `async with modem.session(index, host, port, client_id=...) as s:`.
The session is the caller's side (its calls, its outbox); its parts do the rest: the link's
state (`link`), calls run on the link (`calls`), the supervisor task (`loop`), the radio's
part with `recovery=` (`radio_guard`), the outbox's sender (`outbox_link`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable

from ..client import MqttClient
from ..engine import Engine
from ..errors import Nm28Error, NotConnectedError, OutboxFullError
from ..outbox import Entry, OutboxStats, OutboxStore, Policy
from ..protocol import commands
from ..protocol.events import Message, Urc
from .backoff import Backoff
from .calls import LinkCalls
from .link import Link
from .loop import Supervisor
from .outbox_link import SessionOutbox
from .params import ConnectionParams
from .radio_guard import GuardFactory
from .states import LinkState, StateChange
from .status_urc import default_status_urc

REFUSED_PUBLISH_ATTEMPTS = 3
"""How many times a waiting publish is tried while the module refuses it on a live link."""
_CHECK_MSG_ID = 1
"""Any valid message id: the encoders check a call's arguments with it, nothing is sent."""


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
        self.client = client
        self.params = params
        backoff = backoff or Backoff()
        self._outbox_size = outbox_size
        self._subscriptions: dict[str, int] = {}
        """Filters the broker granted, re-made after every reconnect."""
        self._link = Link(client.index)
        self._calls = LinkCalls(self._link, modem, backoff, publish_timeout)
        self._supervisor = Supervisor(
            self._link, modem, client, params, self._subscriptions,
            backoff=backoff, poll_interval=poll_interval,
            status_urc=status_urc or default_status_urc(client.index),
            radio=None if radio is None else radio(self._link.show),
            link_up=self._calls.link_up,
        )  # fmt: skip
        self._waiting_publishes = 0
        self.outbox_path = outbox
        self.outbox_policy = outbox_policy or Policy(size=outbox_size)
        self._outbox: SessionOutbox | None = None

    def __repr__(self) -> str:
        p = self.params
        return f"<Session client {self.client.index} {p.host}:{p.port} {self.state.value}>"

    @property
    def state(self) -> LinkState:
        return self._link.state

    @property
    def reconnects(self) -> int:
        """How many times the link was lost and made again."""
        return self._link.reconnects

    @property
    def last_error(self) -> Nm28Error | None:
        """Why the last connection attempt failed (None until one did): what a program that
        must connect once before it runs (a command-line tool) reports."""
        return self._link.last_error

    def states(self) -> AsyncIterator[StateChange]:
        """State changes as they happen; ends when the session ends."""
        return self._link.changes()

    def messages(self) -> AsyncIterator[Message]:
        return self.client.messages()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait for the link; raises Nm28TimeoutError (a TimeoutError), or the reason the
        session ended."""
        await self._link.wait_connected(timeout)

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
        granted = await self._calls.run(
            lambda: self.client.subscribe(topic, qos), f"subscribe to {topic!r}", timeout
        )
        self._subscriptions[topic] = qos
        return granted

    async def unsubscribe(self, topic: str, *, timeout: float | None = None) -> None:
        """Stop re-making the subscription, and unsubscribe once the link is up."""
        commands.unsubscribe(self.client.index, _CHECK_MSG_ID, topic)
        commands.check_duration("timeout", timeout, optional=True)
        self._subscriptions.pop(topic, None)
        await self._calls.run(
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
            return await self._calls.run(attempt, "publish", timeout, wait=False)
        if self._waiting_publishes >= self._outbox_size:
            raise OutboxFullError(f"{self._waiting_publishes} publishes already wait for the link")
        self._waiting_publishes += 1
        try:
            return await self._calls.run(
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
        self._outbox = SessionOutbox(store, self._publish_entry, self._link.connected.wait)

    def detach_outbox(self) -> None:
        """The store is closing: further calls say the session is not running."""
        self._outbox = None

    async def send_outbox(self) -> None:
        """Deliver the outbox until the session ends (run beside the supervisor)."""
        await self._running_outbox().run(lambda: self._link.ended is not None)

    async def _publish_entry(self, entry: Entry) -> None:
        await self._calls.run(
            lambda: self.client.publish(entry.topic, entry.payload, entry.qos, entry.retain),
            f"outbox entry {entry.id}",
            None,
        )

    def link_lost(self, reason: str) -> None:
        """Report a lost link (commands failing, status URC); the supervisor reconnects."""
        self._supervisor.link_lost(reason)

    async def run(self) -> None:
        """The supervisor: connect, watch, reconnect until cancelled or the modem is gone."""
        await self._supervisor.run()

    def raise_if_failed(self) -> None:
        """Raise the supervisor's own failure, if it had one."""
        if self._supervisor.failure is not None:
            raise self._supervisor.failure
