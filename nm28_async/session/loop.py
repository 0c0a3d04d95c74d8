"""The supervisor task: connect, watch, and reconnect with backoff until the modem is gone.

A lost link is found three ways: a command failing (`LinkCalls`), the module's reboot
banner (or a status URC the caller registers, or a lost registration with `recovery=`), and a
periodic `AT+MQTTCONN?` poll, since the manual documents no connection-lost URC. Every
reconnection waits its backoff delay first, so nothing that fails at once can make a
reconnect storm.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio

from ..client import MqttClient
from ..engine import Engine
from ..errors import ModemClosedError, ModuleRebootedError, Nm28Error, PortLostError
from ..protocol.events import Final, Urc
from ..tasks import first_leaf
from .backoff import Backoff
from .establish import establish
from .link import Link
from .params import ConnectionParams
from .radio_guard import RadioGuard
from .states import LinkState

log = logging.getLogger("nm28_async")


def _nothing() -> None:
    pass


class Supervisor:
    def __init__(
        self,
        link: Link,
        engine: Engine,
        client: MqttClient,
        params: ConnectionParams,
        subscriptions: dict[str, int],
        *,
        backoff: Backoff,
        poll_interval: float,
        status_urc: Callable[[Urc], bool],
        radio: RadioGuard | None,
        link_up: Callable[[], Awaitable[bool]],
    ) -> None:
        self._link = link
        self._engine = engine
        self._client = client
        self._params = params
        self._subscriptions = subscriptions
        """Filters the broker granted, re-made after every reconnect (the session's)."""
        self._backoff = backoff
        self._poll_interval = poll_interval
        self._status_urc = status_urc
        self._radio = radio
        self._link_up = link_up
        self.failure: Nm28Error | None = None
        """Set when the supervisor itself failed (a bug): raised when the session is left."""

    async def run(self) -> None:
        """Connect, watch, and reconnect with backoff until cancelled or the modem is gone.

        Never raises but for cancellation: it runs in a task group beside the caller's code,
        where an exception would cancel that code and come out wrapped in an ExceptionGroup.
        A failure of its own ends the session with an Nm28Error instead.
        """
        engine, link = self._engine, self._link
        removers = [
            engine.add_urc_listener(self._on_urc),
            engine.add_unexpected_final_listener(self._on_unexpected_final),
            engine.add_reboot_listener(self._on_reboot),
            self._radio.watch(self.link_lost) if self._radio else _nothing,
        ]
        reason = "session ended"
        error: Nm28Error | None = None
        try:
            async with anyio.create_task_group() as tasks:
                # the port can vanish while the supervisor sleeps or watches: end at once
                tasks.start_soon(self._end_with_modem, tasks.cancel_scope)
                reason = await self._supervise()
                tasks.cancel_scope.cancel()
        except Exception as exc:
            log.exception("the supervisor of client %d failed", link.index)
            error = self.failure = Nm28Error(
                f"the supervisor of client {link.index} failed: {first_leaf(exc)!r}"
            )
            error.__cause__ = exc
            reason = str(error)
        finally:
            for remove in removers:
                remove()
            if error is None and engine.closed:
                error = await engine.wait_closed()  # returns at once: it does not suspend
                reason = str(error)
            link.end(reason, error)

    def link_lost(self, reason: str) -> None:
        """Report the current connection lost; the supervisor reconnects."""
        self._link.lose(self._link.generation, reason)

    async def _end_with_modem(self, scope: anyio.CancelScope) -> None:
        await self._engine.wait_closed()
        scope.cancel()

    async def _supervise(self) -> str:
        """Connect and watch until the modem is gone; return why."""
        link, radio = self._link, self._radio
        attempt = 0
        while True:
            reboots = self._engine.reboots
            try:
                if radio is not None:
                    await radio.ready()
                link.show(LinkState.CONNECTING, "connecting")
                refused = await establish(
                    self._client, self._params, self._subscriptions, self._link_up
                )
                if self._engine.reboots != reboots:
                    # the module forgot part of what was just set up (its configuration)
                    raise ModuleRebootedError("the module rebooted while connecting")
            except (ModemClosedError, PortLostError) as exc:
                return str(exc)
            except Nm28Error as exc:
                link.last_error = exc
                if radio is not None:
                    await radio.failed(exc)
                await self._back_off(attempt, str(exc))
                attempt += 1
                continue
            if radio is not None:
                radio.succeeded()
            up_since = anyio.current_time()
            note = f" (resubscription refused: {', '.join(refused)})" if refused else ""
            link.up("connected" + note)
            try:
                reason = await self._watch()
            except (ModemClosedError, PortLostError) as exc:
                return str(exc)
            finally:
                link.connected.clear()
            link.reconnects += 1
            if anyio.current_time() - up_since >= self._backoff.maximum:
                attempt = 0  # the link was stable: start the delays afresh
            await self._back_off(attempt, reason)
            attempt += 1

    async def _back_off(self, attempt: int, reason: str) -> None:
        delay = self._backoff.delay(attempt)
        self._link.show(LinkState.BACKING_OFF, f"{reason}; retry in {delay:.2f} s")
        await anyio.sleep(delay)

    async def _watch(self) -> str:
        """Return the reason the link is considered lost."""
        link = self._link
        while True:
            with anyio.move_on_after(self._poll_interval):
                await link.wake.wait()
            if link.lost_reason is not None:
                return f"link lost: {link.lost_reason}"
            link.wake.clear()
            if not await self._link_up():
                return "poll: the module reports the client disconnected"

    def _on_unexpected_final(self, final: Final) -> None:
        """A final code nobody waited for: the module may have lost state. Poll now."""
        if self._link.state is LinkState.CONNECTED:
            log.info("client %d: unexpected %s, checking the link", self._link.index, final)
            self._link.wake.set()

    def _on_reboot(self, banner: Urc) -> None:
        self.link_lost("module rebooted")

    def _on_urc(self, urc: Urc) -> None:
        if self._status_urc(urc):
            self.link_lost(f"status URC {urc}")
