"""The engine: the port, the conversation, a future per command, one timer. Nothing else.

Every rule of the AT channel lives in `protocol.conversation`; the engine feeds it the
bytes, the time and the callers that gave up, writes what it says to write, and turns its
events into results, errors and queued messages. It runs in the port's callbacks and in the
callers' tasks: there is no reader task and no lock. Where the output goes (queues,
listeners), how reads are paced and what the wire tap sees are parts of their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Self

from ..errors import (
    CommandError,
    ModemClosedError,
    ModuleRebootedError,
    Nm28Error,
    Nm28TimeoutError,
    PortLostError,
)
from ..protocol import commands
from ..protocol.commands import Command
from ..protocol.conversation import (
    SYNCHRONISE,
    Completed,
    Conversation,
    Failed,
    Failure,
    Rebooted,
    Statistics,
    UnexpectedFinal,
    Unsolicited,
)
from ..protocol.events import Final, Garbage, Message, Urc
from ..protocol.redact import redact
from .inbox import Inbox
from .pacing import ReadPacer
from .port import Port, PortOpener
from .queues import MessageQueue
from .recorder import Recorder
from .serial_port import open_serial_port
from .settings import EngineSettings, check_port
from .tap import WireTap

log = logging.getLogger("nm28_async")

CLOSE_LIMIT = 2.0
"""Seconds closing the port may take, even when the caller is being cancelled."""


class Engine:
    """One module on one port: commands, their results, URCs and messages."""

    def __init__(self, port: str, settings: EngineSettings, tap: WireTap | None = None) -> None:
        self.port = check_port(port)
        self.settings = settings
        self._conversation = Conversation(
            probe_timeout=settings.command_timeout,
            reboot_banners=settings.reboot_banners,
            sync_attempts=settings.sync_attempts,
        )
        self._loop = asyncio.get_running_loop()
        self._port: Port | None = None
        self._pending: dict[int, tuple[asyncio.Future[Completed], Command]] = {}
        self.inbox = Inbox(settings.queue_size, settings.overflow)
        self._pacer = ReadPacer(settings.read_coalescing, self._loop.time())
        self._tap = tap or WireTap(None)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._error: Nm28Error | None = None
        self._ended: asyncio.Future[Nm28Error] = self._loop.create_future()

    def __repr__(self) -> str:
        state = "open" if self._error is None else f"closed ({type(self._error).__name__})"
        return f"<{type(self).__name__} {self.port} {state}>"

    # --- life cycle --------------------------------------------------------------------------

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        port: str,
        settings: EngineSettings | None = None,
        *,
        baudrate: int = 115200,
        record: str | Path | None = None,
        opener: PortOpener = open_serial_port,
    ) -> AsyncIterator[Self]:
        """Open the port, synchronise with the module (`AT` until answered, `ATE0`), yield.

        Every argument is checked before the port is opened. `record` names a file that
        receives every byte each way, timed, secrets masked (`nm28 sim --replay` plays it
        back). `opener` opens the port (a `MemoryLine`'s for tests).
        """
        check_port(port)
        commands.check_int("baudrate", baudrate, range(1, 1 << 31))
        tap = WireTap(None if record is None else Recorder(record))
        try:
            engine = cls(port, settings or EngineSettings(), tap)
            engine._port = await opener(port, baudrate, engine._receive, engine._port_lost)
            try:
                await engine._synchronise()
                yield engine
            finally:
                engine._terminate(ModemClosedError("the modem was closed"))
                await engine._close_port()
        finally:
            tap.close()

    @property
    def closed(self) -> bool:
        return self._error is not None

    @property
    def statistics(self) -> Statistics:
        """Counters of what was skipped or absorbed: garbage, unexpected finals, reboots..."""
        return self._conversation.statistics

    @property
    def reboots(self) -> int:
        return self._conversation.statistics.reboots

    async def wait_closed(self) -> Nm28Error:
        """Wait until the engine is closed or its port is lost; return the reason."""
        return await asyncio.shield(self._ended)

    # --- commands ----------------------------------------------------------------------------

    async def command(self, line: str, *, timeout: float | None = None) -> list[str]:
        """Send any AT command; return its information lines (raises on ERROR), and for a set
        command of the MQTT family its result line, before or after `OK`.

        `timeout` bounds its final code (default `command_timeout`, or the network deadline
        for a set command of the MQTT family) and its result line.
        """
        commands.check_duration("timeout", timeout, optional=True)
        done = await self.execute(commands.raw(line), timeout=timeout, result_timeout=timeout)
        lines = [item.text for item in done.lines]
        return lines if done.result is None else [*lines, done.result.raw]

    async def execute(
        self,
        command: Command,
        *,
        timeout: float | None = None,
        result_timeout: float | None = None,
    ) -> Completed:
        """Run one encoded command to its end: its final code, and its result line if it has
        one. `timeout` bounds what is local (a prompt, a local command's final code);
        `result_timeout` what waits for the network."""
        if self._error is not None:
            raise self._error
        if command.secrets:
            self._tap.mask(command.secrets)
        local = timeout or self.settings.command_timeout
        network = result_timeout or self.settings.network_timeout
        future: asyncio.Future[Completed] = self._loop.create_future()
        handle = self._conversation.submit(
            command, self._loop.time(), local_timeout=local, network_timeout=network
        )
        self._pending[handle] = (future, command)
        if self._port is not None:
            self._port.wake()  # its answer is read at once
        self._pump()
        try:
            return await future
        except asyncio.CancelledError:
            self._conversation.cancel(handle, self._loop.time())
            self._pump()
            raise
        finally:
            del self._pending[handle]

    def messages(self, client_index: int) -> MessageQueue[Message]:
        """The queue of messages the module delivers for `client_index`."""
        return self.inbox.queues[client_index]

    def set_length_field(self, client_index: int, enabled: bool | None) -> None:
        """Whether `+MQTTRECV` for this client carries the payload's length (None: unknown)."""
        self._conversation.set_length_field(client_index, enabled)

    def urcs(self) -> AsyncIterator[Urc]:
        """Lines no command claimed (registration, banners, unknown URCs), as they come."""
        return self.inbox.urcs()

    def add_urc_listener(self, listener: Callable[[Urc], None]) -> Callable[[], None]:
        """Call `listener` for every URC (it must be quick and not raise); returns a function
        that removes it."""
        return self.inbox.urc_listeners.add(listener)

    def add_unexpected_final_listener(
        self, listener: Callable[[Final], None]
    ) -> Callable[[], None]:
        """Call `listener` for every final code (`OK`, `ERROR`) that arrives with no command
        in flight and none owed: the module said something the driver cannot account for.
        Returns a function that removes it."""
        return self.inbox.final_listeners.add(listener)

    def add_reboot_listener(self, listener: Callable[[Urc], None]) -> Callable[[], None]:
        """Call `listener` with the banner when the module restarts (before the banner
        reaches `urcs()`); returns a function that removes it."""
        return self.inbox.reboot_listeners.add(listener)

    async def _synchronise(self) -> None:
        # What the module said before this host attached (answers owed to a host that was
        # unplugged) is read first, as unsolicited, rather than taken for the probe's answer.
        for _ in range(3):
            await asyncio.sleep(0)
        timeout = self.settings.command_timeout
        await self.execute(SYNCHRONISE, timeout=timeout, result_timeout=timeout)
        log.info("synchronised with the module on %s", self.port)

    # --- driving the conversation ------------------------------------------------------------

    def _receive(self, data: bytes) -> None:
        if self._tap.tapping:
            self._tap.rx(data)
        conversation = self._conversation
        now = self._loop.time()
        conversation.receive_data(data, now)
        if self._pump() and self._pacer.coalescing and conversation.idle:
            rest = self._pacer.rest_after(len(data), now)
            if rest is not None and self._port is not None:
                self._port.rest(rest)

    def _on_timer(self) -> None:
        at = self._timer_at
        self._timer = self._timer_at = None
        now = self._loop.time()
        if at is not None and now < at:  # a loop may run a timer a little early
            now = at
        self._conversation.handle_timer(now)
        self._pump()

    def _pump(self) -> int:
        """Write what the conversation says to write, act on its events, re-arm the timer;
        returns how many messages it delivered."""
        conversation = self._conversation
        data = conversation.data_to_send()
        if data and self._error is None:
            self._write(data)
        messages = conversation.messages()
        if messages:
            self.inbox.deliver(messages)
        for event in conversation.events():
            if isinstance(event, Completed):
                pending = self._pending.get(event.handle)
                if pending is not None and not pending[0].done():
                    pending[0].set_result(event)
            elif isinstance(event, Failed):
                pending = self._pending.get(event.handle)
                if pending is not None and not pending[0].done():
                    pending[0].set_exception(_error(pending[1], event))
            elif isinstance(event, Unsolicited):
                self.inbox.unsolicited(event.line)
            elif isinstance(event, Rebooted):
                self.inbox.rebooted(event.banner)
            elif isinstance(event, UnexpectedFinal):
                self.inbox.final_listeners.notify(event.final)
            elif isinstance(event, Garbage):
                log.warning("skipped %s: %s", event.reason, self._tap.noise(event.data))
        self._arm_timer(conversation.get_timer())
        return len(messages)

    def _arm_timer(self, at: float | None) -> None:
        # Re-armed only for an earlier deadline: a timer left for a deadline that went away
        # (the command completed) fires once, finds nothing due and re-arms, which costs
        # less than a cancel and a new timer for every command.
        if at is not None and self._error is None:
            armed = self._timer_at
            if armed is None or at < armed:
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = self._loop.call_at(at, self._on_timer)
                self._timer_at = at

    def _write(self, data: bytes) -> None:
        assert self._port is not None
        self._tap.tx(data)
        try:
            self._port.write(data)
        except OSError as exc:
            self._terminate(PortLostError(f"write to {self.port} failed: {exc}"))

    def _port_lost(self, exc: Exception | None) -> None:
        reason = f"{self.port} lost: {exc}" if exc else f"{self.port} closed (end of stream)"
        self._terminate(PortLostError(reason))

    def _terminate(self, error: Nm28Error) -> None:
        """Fail every pending call and end every iterator: the port is gone or closed."""
        if self._error is not None:
            return
        self._error = error
        if not isinstance(error, ModemClosedError):
            log.error("%s", error)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self.inbox.close(error)
        self._ended.set_result(error)

    async def _close_port(self) -> None:
        """Close the port and wait for it, even when the caller is being cancelled."""
        if self._port is None:
            return
        self._port.close()
        try:
            await asyncio.wait_for(asyncio.shield(self._port.wait_closed()), CLOSE_LIMIT)
        except (TimeoutError, asyncio.CancelledError, OSError) as exc:
            log.debug("closing %s: %r", self.port, exc)


def _error(command: Command, failed: Failed) -> Nm28Error:
    """The error a caller sees for a command that did not complete."""
    what = command.log_text
    if failed.failure is Failure.REFUSED:
        assert failed.final is not None
        return CommandError(what, failed.final)
    if failed.failure is Failure.REBOOTED:
        return ModuleRebootedError(f"the module rebooted ({redact(failed.detail)})")
    if failed.failure is Failure.BUSY:
        return Nm28Error(f"{what}: {failed.detail}")
    if failed.failure is Failure.UNSYNCHRONISED:
        return Nm28TimeoutError(failed.detail)
    return Nm28TimeoutError(f"{what}: {failed.detail} (the outcome is unknown)")
