"""`modem.network`: the module's registration, signal and data context, read on demand, and
registration changes as the module announces them.

Every command is the protocol layer's (`network_commands`); this part only runs them. A
command the firmware lacks (`ERROR`), or an answer that does not read, leaves its fields
None and is logged; only the module failing as a whole (timeout, lost port) raises.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import anyio

from ..engine import Engine
from ..errors import CommandError, Nm28TimeoutError
from ..protocol import commands
from ..protocol.events import ResultLine, Urc
from ..protocol.network import NetworkStatus, RegistrationChange
from ..protocol.network_commands import (
    C5GREG_URCS_ON,
    CEREG_URCS_ON,
    REGISTRATION_QUERIES,
    STATUS_QUERIES,
    Query,
    assemble,
)
from ..protocol.network_parse import REGISTRATION_DOMAINS, registration_urc_or_read

log = logging.getLogger("nm28_async")

T = TypeVar("T")

CHANGES_BUFFER = 64
"""Registration changes kept for a slow `changes()` reader; older ones give way (the latest
registration is what matters)."""
POLL_INTERVAL = 5.0
"""Seconds between registration reads while `wait_registered` waits without a URC."""

_STATUS_REGISTRATIONS = tuple(q for q in REGISTRATION_QUERIES if q in STATUS_QUERIES)

Listener = Callable[[RegistrationChange], None]
Remove = Callable[[], None]


class _Answers:
    """What each query answered, by prefix; a query not asked reads as None."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, query: Query[T], /) -> T | None:
        return cast("T | None", self.values.get(query.prefix))


class Watch:
    """Registration changes seen since the last `wait`."""

    def __init__(self) -> None:
        self._event = anyio.Event()
        self.last: RegistrationChange | None = None

    def changed(self, change: RegistrationChange) -> None:
        self.last = change
        self._event.set()

    async def wait(self, within: float) -> bool:
        """Wait up to `within` seconds for a change (True) since the last wait."""
        with anyio.move_on_after(within):
            await self._event.wait()
        seen = self._event.is_set()
        self._event = anyio.Event()
        return seen


class NetworkMonitor:
    """The radio as the module reports it. One per modem (`modem.network`)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._urcs_on = False

    async def status(self) -> NetworkStatus:
        """Registration, technology, operator, signal, attach, PDP context and address."""
        return await self._read(STATUS_QUERIES)

    async def registration(self) -> NetworkStatus:
        """Only the registration (fewer commands than `status()`): what a session waits on."""
        return await self._read(_STATUS_REGISTRATIONS)

    async def _read(self, queries: Iterable[Query[Any]]) -> NetworkStatus:
        answers = _Answers()
        for query in queries:
            answers.values[query.prefix] = await self._ask(query)
        return assemble(answers, _STATUS_REGISTRATIONS)

    async def wait_registered(self, timeout: float | None = None) -> NetworkStatus:
        """Wait until the module is registered (home or roaming); its registration then.
        Woken by the registration URCs, and reads again every few seconds without them.
        Raises Nm28TimeoutError (a TimeoutError) after `timeout` seconds."""
        commands.check_duration("timeout", timeout, optional=True)
        try:
            with anyio.fail_after(timeout), self.watch() as watch:
                await self.enable_urcs()
                while not (now := await self.registration()).registered:
                    await watch.wait(POLL_INTERVAL)
                return now
        except TimeoutError:
            raise Nm28TimeoutError(f"the module did not register within {timeout:g} s") from None

    @contextmanager
    def watch(self) -> Iterator[Watch]:
        """Notice registration changes from here on (so none is missed between a read and
        the wait that follows it)."""
        watch = Watch()
        remove = self._listen(watch.changed)
        try:
            yield watch
        finally:
            remove()

    async def changes(self) -> AsyncGenerator[RegistrationChange, None]:
        """Registration changes (`+C5GREG`, `+CEREG`, `+CREG` URCs) as they come; the first use
        turns the module's registration URCs on (with the cell)."""
        send, receive = anyio.create_memory_object_stream[RegistrationChange](CHANGES_BUFFER)

        def put(change: RegistrationChange) -> None:
            try:
                send.send_nowait(change)
            except anyio.WouldBlock:  # the reader lags: the oldest change gives way
                receive.receive_nowait()
                send.send_nowait(change)

        remove = self._listen(put)
        try:
            await self.enable_urcs()
            async with receive:
                async for change in receive:
                    yield change
        finally:
            remove()
            send.close()

    def add_change_listener(self, listener: Listener) -> Remove:
        """Call `listener` (quick, never raising) with each registration change; returns a
        function that removes it. Does not turn URCs on (see `changes()`)."""
        return self._listen(listener)

    def _listen(self, listener: Listener) -> Remove:
        def on_urc(urc: Urc) -> None:
            change = registration_change(urc)
            if change is not None:
                listener(change)

        return self._engine.add_urc_listener(on_urc)

    async def enable_urcs(self) -> None:
        """Turn the registration URCs on (with the cell), once; a form the firmware lacks
        is skipped."""
        if self._urcs_on:
            return
        for command in (C5GREG_URCS_ON, CEREG_URCS_ON):
            try:
                await self._engine.execute(command)
            except CommandError as exc:
                log.info("registration URCs: %s (the firmware lacks it)", exc)
        self._urcs_on = True

    async def _ask(self, query: Query[T]) -> T | None:
        try:
            completed = await self._engine.execute(query.command)
        except CommandError as exc:
            log.debug("network status: %s", exc)
            return None
        try:
            return query.parse(completed.lines)
        except ValueError as exc:
            log.warning("network status: unreadable answer to %s: %s", query.command.log_text, exc)
            return None


def registration_change(urc: Urc) -> RegistrationChange | None:
    """The change a registration URC announces; None for any other URC, or one that does not
    read (logged)."""
    if not isinstance(urc, ResultLine) or urc.name.upper() not in REGISTRATION_DOMAINS:
        return None
    try:
        return registration_urc_or_read(urc, answer_expected=False).change
    except ValueError as exc:
        log.warning("unreadable registration URC %r: %s", urc.raw, exc)
        return None
