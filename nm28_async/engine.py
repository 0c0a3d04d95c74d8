"""The engine: the port, the conversation, a future per command, one timer. Nothing else.

Every rule of the AT channel lives in `protocol.conversation`; the engine feeds it the
bytes, the time and the callers that gave up, writes what it says to write, and turns its
events into results, errors and queued messages. It runs in the transport's callbacks and
in the callers' tasks: there is no reader task and no lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Self, TypeVar

from .errors import (
    CommandError,
    ModemClosedError,
    ModuleRebootedError,
    Nm28Error,
    Nm28TimeoutError,
    PortLostError,
)
from .overflow import Overflow
from .protocol import commands, limits
from .protocol.commands import Command
from .protocol.conversation import (
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
from .protocol.events import Final, Garbage, Message, RecvNotice, ResultLine, TextLine
from .protocol.redact import redact, redact_bytes, redact_wire
from .protocol.results import ClientConfig, parse_config_block
from .queues import MessageQueue, deliver
from .record import Recorder
from .transport import Port, open_port

log = logging.getLogger("nm28_async")
wire = logging.getLogger("nm28_async.wire")

Urc = ResultLine | TextLine | RecvNotice | Message
"""What `urcs()` yields: lines no command claimed, and messages no client can take."""

T = TypeVar("T")

DEFAULT_REBOOT_BANNERS = frozenset({"RDY", "+PBREADY", "START", "^BOOT", "+SYSSTART"})
DEFAULT_READ_COALESCING = 0.020
"""Seconds a message stream gathers between reads while no command waits for an answer: a
read costs a process wake-up whatever it brings, and a small core feels the wake-ups of a
paced line more than its bytes. Messages wait at most this long; answers never do."""
COALESCE_BYTES = 12 * 1024
"""What a rest lets gather: under what a pty holds before its writer must wait (20 KiB)."""
MIN_REST = 0.001
DEFAULT_PKT_TIMEOUT = 10
"""The packet timeout the driver assumes until `configure(pkt_timeout=...)` says otherwise."""
DEFAULT_RETRIES = 3
CLOSE_LIMIT = 2.0
"""Seconds closing the port may take, even when the caller is being cancelled."""


def network_timeout(pkt_timeout: float, retries: int, command_timeout: float) -> float:
    """How long the network may take to answer a command: long enough for the module's own
    retransmissions to run out, plus the time its final code may take."""
    return pkt_timeout * (retries + 1) + command_timeout


class Engine:
    """One module on one port: commands, their results, URCs and messages."""

    def __init__(
        self,
        port: str,
        *,
        command_timeout: float = 5.0,
        result_timeout: float | None = None,
        queue_size: int = 1000,
        overflow: Overflow = Overflow.DROP_OLDEST,
        sync_attempts: int = 5,
        reboot_banners: frozenset[str] = DEFAULT_REBOOT_BANNERS,
        read_coalescing: float = DEFAULT_READ_COALESCING,
    ) -> None:
        _check_settings(
            port, command_timeout, result_timeout, queue_size, overflow, sync_attempts,
            reboot_banners, read_coalescing,
        )  # fmt: skip
        self.port = port
        self.read_coalescing = read_coalescing
        self.command_timeout = command_timeout
        self.result_timeout = result_timeout
        self._network_timeout = result_timeout or network_timeout(
            DEFAULT_PKT_TIMEOUT, DEFAULT_RETRIES, command_timeout
        )
        self.reboot_banners = frozenset(reboot_banners)
        self._conversation = Conversation(
            probe_timeout=command_timeout,
            reboot_banners=self.reboot_banners,
            sync_attempts=sync_attempts,
        )
        self._loop = asyncio.get_running_loop()
        self._port: Port | None = None
        self._pending: dict[int, tuple[asyncio.Future[Completed], Command]] = {}
        self._queues = tuple(
            MessageQueue[Message](queue_size, overflow) for _ in limits.CLIENT_INDEXES
        )
        self._urcs: MessageQueue[Urc] = MessageQueue(queue_size, Overflow.DROP_OLDEST)
        self._urc_listeners: list[Callable[[Urc], None]] = []
        self._final_listeners: list[Callable[[Final], None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._last_read_at = self._loop.time()
        self._secrets: set[str] = set()
        """Every password the driver sent: masked wherever the module says it back."""
        self._recorder: Recorder | None = None
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
        *,
        baudrate: int = 115200,
        command_timeout: float = 5.0,
        result_timeout: float | None = None,
        queue_size: int = 1000,
        overflow: Overflow = Overflow.DROP_OLDEST,
        sync_attempts: int = 5,
        reboot_banners: frozenset[str] = DEFAULT_REBOOT_BANNERS,
        read_coalescing: float = DEFAULT_READ_COALESCING,
        record: str | Path | None = None,
    ) -> AsyncIterator[Self]:
        """Open the port, synchronise with the module (`AT` until answered, `ATE0`), yield.

        Every argument is checked before the port is opened. `reboot_banners` are the lines
        by which the module announces a restart. `read_coalescing` is how long the port's
        bytes may gather between reads while nothing waits for an answer (0: read at once).
        `record` names a file that receives every byte each way, timed, secrets masked
        (`nm28 sim --replay` plays it back).
        """
        commands.check_int("baudrate", baudrate, range(1, 1 << 31))
        engine = cls(
            port,
            command_timeout=command_timeout,
            result_timeout=result_timeout,
            queue_size=queue_size,
            overflow=overflow,
            sync_attempts=sync_attempts,
            reboot_banners=reboot_banners,
            read_coalescing=read_coalescing,
        )
        recorder = None if record is None else Recorder(record)
        engine._recorder = recorder
        try:
            engine._port = await open_port(port, baudrate, engine._receive, engine._port_lost)
            try:
                await engine._synchronise()
                yield engine
            finally:
                engine._terminate(ModemClosedError("the modem was closed"))
                await engine._close_port()
        finally:
            if recorder is not None:
                recorder.close()

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
        """Wait until the modem is closed or its port is lost; return the reason."""
        return await asyncio.shield(self._ended)

    # --- commands ----------------------------------------------------------------------------

    async def command(self, line: str, *, timeout: float | None = None) -> list[str]:
        """Send any AT command; return its information lines (raises on ERROR), and for a set
        command of the MQTT family its result line, before or after `OK`.

        `timeout` bounds its final code (default `command_timeout`, or the network deadline
        for a set command of the MQTT family) and its result line.
        """
        commands.check_duration("timeout", timeout, optional=True)
        done = await self._execute(commands.raw(line), timeout=timeout, result_timeout=timeout)
        lines = [item.text for item in done.lines]
        return lines if done.result is None else [*lines, done.result.raw]

    async def query_config(self) -> dict[int, ClientConfig]:
        """`AT+MQTTCFG?`: every client's configuration as the module reports it."""
        done = await self._execute(commands.cfg_query())
        return parse_config_block(done.lines)

    async def query_open(self) -> dict[int, tuple[str, int]]:
        """`AT+MQTTOPEN?`: host and port of each client whose network is open."""
        done = await self._execute(commands.open_query())
        return {
            int(line.fields[0]): (line.fields[1], int(line.fields[2]))
            for line in done.lines
            if isinstance(line, ResultLine) and len(line.fields) == 3
        }

    async def query_connections(self) -> dict[int, bool]:
        """`AT+MQTTCONN?`: whether each client reports an MQTT connection."""
        done = await self._execute(commands.connect_query())
        return {
            int(line.fields[0]): line.fields[1] == "1"
            for line in done.lines
            if isinstance(line, ResultLine) and len(line.fields) == 2
        }

    def urcs(self) -> AsyncIterator[Urc]:
        """Lines no command claimed (registration, banners, unknown URCs), as they come."""
        return self._urcs.items()

    def add_urc_listener(self, listener: Callable[[Urc], None]) -> Callable[[], None]:
        """Call `listener` for every URC (it must be quick and not raise); returns a function
        that removes it."""
        self._urc_listeners.append(listener)
        return lambda: self._urc_listeners.remove(listener)

    def add_unexpected_final_listener(
        self, listener: Callable[[Final], None]
    ) -> Callable[[], None]:
        """Call `listener` for every final code (`OK`, `ERROR`) that arrives with no command
        in flight and none owed: the module said something the driver cannot account for.
        Returns a function that removes it."""
        self._final_listeners.append(listener)
        return lambda: self._final_listeners.remove(listener)

    # --- hooks of the client layer -----------------------------------------------------------

    async def _execute(
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
            self._secrets.update(command.secrets)
            if self._recorder is not None:
                self._recorder.mask(command.secrets)
        local = timeout or self.command_timeout
        network = result_timeout or self._network_timeout
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

    def _messages(self, client_index: int) -> MessageQueue[Message]:
        return self._queues[client_index]

    def _set_length_field(self, client_index: int, enabled: bool | None) -> None:
        self._conversation.set_length_field(client_index, enabled)

    def _rebooted(self) -> None:
        """The module rebooted: the layer above forgets what the module forgot."""

    async def _synchronise(self) -> None:
        # What the module said before this host attached (answers owed to a host that was
        # unplugged) is read first, as unsolicited, rather than taken for the probe's answer.
        for _ in range(3):
            await asyncio.sleep(0)
        timeout = self.command_timeout
        await self._execute(SYNCHRONISE, timeout=timeout, result_timeout=timeout)
        log.info("synchronised with the module on %s", self.port)

    # --- driving the conversation ------------------------------------------------------------

    def _receive(self, data: bytes) -> None:
        if self._recorder is not None:
            self._recorder.rx(data)
        if wire.isEnabledFor(logging.DEBUG):
            wire.debug("RX %s", redact_wire(data, self._secrets))
        conversation = self._conversation
        now = self._loop.time()
        conversation.receive_data(data, now)
        if self._pump() and self.read_coalescing and conversation.idle:
            self._coalesce(len(data), now)

    def _coalesce(self, size: int, now: float) -> None:
        """Let the port rest until about COALESCE_BYTES gather at the rate the stream shows,
        at most `read_coalescing`: a paced line is read in fewer, larger pieces, and a flood,
        which would fill the kernel's buffer meanwhile, is read as fast as it comes."""
        elapsed = now - self._last_read_at
        self._last_read_at = now
        if size >= COALESCE_BYTES or elapsed > 2 * self.read_coalescing:
            # The kernel's buffer may have filled meanwhile, or this is the first read of a
            # stream (whose pace is not known yet): read as it comes.
            return
        rest = min(self.read_coalescing, COALESCE_BYTES * elapsed / size)
        if rest >= MIN_REST and self._port is not None:
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
            deliver(self._queues, messages)
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
                self._put_urc(event.line)
            elif isinstance(event, Rebooted):
                self._rebooted()
                self._put_urc(event.banner)
            elif isinstance(event, UnexpectedFinal):
                for final_listener in list(self._final_listeners):
                    _call(final_listener, event.final)
            elif isinstance(event, Garbage):
                noise = redact_bytes(event.data, self._secrets)
                log.warning("skipped %s: %s", event.reason, noise)
        at = conversation.get_timer()
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
        return len(messages)

    def _write(self, data: bytes) -> None:
        assert self._port is not None
        if self._recorder is not None:
            self._recorder.tx(data)
        try:
            self._port.write(data)
        except OSError as exc:
            self._terminate(PortLostError(f"write to {self.port} failed: {exc}"))

    def _put_urc(self, urc: Urc) -> None:
        self._urcs.put_nowait(urc)
        for listener in list(self._urc_listeners):
            _call(listener, urc)

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
        iterator_error = None if isinstance(error, ModemClosedError) else error
        for queue in self._queues:
            queue.close(iterator_error)
        self._urcs.close(iterator_error)
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


def _call(listener: Callable[[T], None], item: T) -> None:
    try:
        listener(item)
    except Exception:
        log.exception("listener %r failed", listener)


def _check_settings(
    port: str,
    command_timeout: float,
    result_timeout: float | None,
    queue_size: int,
    overflow: Overflow,
    sync_attempts: int,
    reboot_banners: frozenset[str],
    read_coalescing: float,
) -> None:
    """ValueError for any bad setting, before a port is opened."""
    if not isinstance(port, str) or not port:
        raise ValueError(f"port must be a device path or a pyserial URL, got {port!r}")
    commands.check_duration("command_timeout", command_timeout)
    commands.check_duration("result_timeout", result_timeout, optional=True)
    commands.check_int("queue_size", queue_size, range(1, 1 << 31))
    if not isinstance(overflow, Overflow):
        raise ValueError(f"overflow must be an Overflow, got {overflow!r}")
    commands.check_int("sync_attempts", sync_attempts, range(1, 1000))
    if isinstance(reboot_banners, str) or not all(isinstance(b, str) for b in reboot_banners):
        raise ValueError("reboot_banners must be a set of lines (str)")
    if read_coalescing != 0:
        commands.check_duration("read_coalescing", read_coalescing)
        if read_coalescing > 1:
            raise ValueError(f"read_coalescing must be at most 1 s, got {read_coalescing}")
