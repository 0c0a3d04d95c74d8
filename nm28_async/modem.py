"""Modem: owns the port, the reader task, the AT channel lock, and routes what the module says."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskStatus

from .channel import AtChannel, InFlight, ResultWaiter
from .client import (
    DEFAULT_PKT_TIMEOUT,
    DEFAULT_RETRIES,
    MqttClient,
    default_result_timeout,
)
from .connection import connected
from .errors import (
    ModemClosedError,
    ModuleRebootedError,
    Nm28Error,
    Nm28TimeoutError,
    PortLostError,
)
from .params import ConnectionParams
from .protocol import commands, limits
from .protocol.commands import Command, ResultKey
from .protocol.events import Echo, Event, Final, Garbage, MqttRecv, Prompt, ResultLine, TextLine
from .protocol.parser import Parser
from .protocol.redact import redact
from .protocol.results import ClientConfig, is_progress, parse_config_block, result_key
from .queues import MessageQueue, Overflow
from .supervisor import Backoff, Session, supervised
from .tasks import background_tasks
from .transport import READ_SIZE, PortWriter, open_stream

log = logging.getLogger("nm28_async")
wire = logging.getLogger("nm28_async.wire")

Urc = ResultLine | TextLine | MqttRecv
"""What `Modem.urcs()` yields: lines no command claimed, and payload-less receive notices."""

DEFAULT_REBOOT_BANNERS = frozenset({"RDY", "+PBREADY", "START", "^BOOT", "+SYSSTART"})


class Modem:
    """One NM28 on one port. Create it with `Modem.open(...)` in an `async with`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: PortWriter,
        *,
        port: str,
        command_timeout: float,
        result_timeout: float | None,
        queue_size: int,
        overflow: Overflow,
        reboot_banners: frozenset[str] = DEFAULT_REBOOT_BANNERS,
    ) -> None:
        if command_timeout <= 0:
            raise ValueError(f"command_timeout must be positive, got {command_timeout}")
        self.port = port
        self.command_timeout = command_timeout
        self.result_timeout = result_timeout
        self.reboot_banners = reboot_banners
        self._reader = reader
        self._writer = writer
        self._parser = Parser()
        self._error: Nm28Error | None = None
        self._channel = AtChannel(
            writer,
            port=port,
            command_timeout=command_timeout,
            closed=lambda: self._error,
            lost=self._terminate,
        )
        self._waiters: dict[ResultKey, ResultWaiter] = {}
        self._urcs: MessageQueue[Urc] = MessageQueue(queue_size, Overflow.DROP_OLDEST)
        self._clients = tuple(
            MqttClient(self, index, MessageQueue(queue_size, overflow))
            for index in limits.CLIENT_INDEXES
        )
        self._urc_listeners: list[Callable[[Urc], None]] = []
        self._final_listeners: list[Callable[[Final], None]] = []
        self._terminated = asyncio.Event()
        self.unexpected_finals = 0
        self.garbage_count = 0
        self.reboots = 0

    def __repr__(self) -> str:
        state = "open" if self._error is None else f"closed ({type(self._error).__name__})"
        return f"<Modem {self.port} {state}>"

    # --- life cycle -------------------------------------------------------------------------

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
    ) -> AsyncIterator[Modem]:
        """Open the port, start the reader, synchronise with the module (AT, ATE0), yield.

        `reboot_banners` are the lines by which the module announces a restart.
        """
        reader, writer = await open_stream(port, baudrate)
        modem = cls(
            reader,
            writer,
            port=port,
            command_timeout=command_timeout,
            result_timeout=result_timeout,
            queue_size=queue_size,
            overflow=overflow,
            reboot_banners=reboot_banners,
        )
        try:
            async with background_tasks() as tasks:
                await tasks.start(modem._read_loop)
                try:
                    await modem._channel.synchronise(sync_attempts)
                    yield modem
                finally:
                    modem._terminate(ModemClosedError("the modem was closed"))
        finally:
            await _close_writer(writer)

    @property
    def closed(self) -> bool:
        return self._error is not None

    def client(self, index: int) -> MqttClient:
        """The MQTT client at `index` (0..5): the same object on every call."""
        commands.check_index(index)
        return self._clients[index]

    @property
    def clients(self) -> tuple[MqttClient, ...]:
        return self._clients

    def mqtt(
        self,
        index: int,
        host: str,
        port: int,
        *,
        client_id: str,
        username: str = "",
        password: str = "",
        **config: Any,
    ) -> AbstractAsyncContextManager[MqttClient]:
        """`async with modem.mqtt(0, host, 1883, client_id=...) as client:` configures (any
        `MqttClient.configure` keyword), opens and connects; disconnects and closes on exit.
        Every argument is checked here: a bad one is a ValueError at the call."""
        client = self.client(index)
        params = ConnectionParams(
            host=host, port=port, client_id=client_id, username=username, password=password,
            **config,
        )  # fmt: skip
        return connected(client, params)

    # --- commands ---------------------------------------------------------------------------

    def session(
        self,
        index: int,
        host: str,
        port: int,
        *,
        client_id: str,
        username: str = "",
        password: str = "",
        backoff: Backoff | None = None,
        poll_interval: float = 30.0,
        outbox_size: int = 100,
        publish_timeout: float | None = 60.0,
        status_urc: Callable[[Urc], bool] | None = None,
        **config: Any,
    ) -> AbstractAsyncContextManager[Session]:
        """A supervised client: kept configured (`config` as for `MqttClient.configure`),
        open, connected and subscribed, reconnecting with backoff. See `Session`. Every
        argument is checked here: a bad one is a ValueError at the call."""
        client = self.client(index)
        params = ConnectionParams(
            host=host, port=port, client_id=client_id, username=username, password=password,
            **config,
        )  # fmt: skip
        session = Session(
            self,
            client,
            params,
            backoff=backoff,
            poll_interval=poll_interval,
            outbox_size=outbox_size,
            publish_timeout=publish_timeout,
            status_urc=status_urc,
        )
        return supervised(session)

    async def command(self, line: str, *, timeout: float | None = None) -> list[str]:
        """Send any AT command; return its information lines (raises on ERROR)."""
        lines, _ = await self.execute(commands.raw(line), timeout=timeout)
        return [item.raw if isinstance(item, ResultLine) else item.text for item in lines]

    async def query_config(self) -> dict[int, ClientConfig]:
        """`AT+MQTTCFG?`: every client's configuration as the module reports it."""
        lines, _ = await self.execute(commands.cfg_query())
        return parse_config_block(lines)

    async def query_open(self) -> dict[int, tuple[str, int]]:
        """`AT+MQTTOPEN?`: host and port of each client whose network is open."""
        lines, _ = await self.execute(commands.open_query())
        return {
            int(line.fields[0]): (line.fields[1], int(line.fields[2]))
            for line in lines
            if isinstance(line, ResultLine) and len(line.fields) == 3
        }

    async def query_connections(self) -> dict[int, bool]:
        """`AT+MQTTCONN?`: whether each client reports an MQTT connection."""
        lines, _ = await self.execute(commands.connect_query())
        return {
            int(line.fields[0]): line.fields[1] == "1"
            for line in lines
            if isinstance(line, ResultLine) and len(line.fields) == 2
        }

    def urcs(self) -> AsyncIterator[Urc]:
        """Lines no command claimed (registration, banners, unknown URCs), as they come."""
        return self._urcs.items()

    def add_urc_listener(self, listener: Callable[[Urc], None]) -> Callable[[], None]:
        """Call `listener` from the reader for every URC (it must be quick and not raise).

        Returns a function that removes it. Supervision uses this to spot status URCs and
        reboots without polling.
        """
        self._urc_listeners.append(listener)
        return lambda: self._urc_listeners.remove(listener)

    def add_unexpected_final_listener(
        self, listener: Callable[[Final], None]
    ) -> Callable[[], None]:
        """Call `listener` from the reader for every final result code (`OK`, `ERROR`) that
        arrives with no command in flight and none owed: the module said something the
        driver cannot account for. Returns a function that removes it."""
        self._final_listeners.append(listener)
        return lambda: self._final_listeners.remove(listener)

    async def wait_closed(self) -> Nm28Error:
        """Wait until the modem is closed or its port is lost; return the reason."""
        await self._terminated.wait()
        assert self._error is not None
        return self._error

    async def execute(
        self,
        command: Command,
        *,
        timeout: float | None = None,
        result_timeout: float | None = None,
    ) -> tuple[list[ResultLine | TextLine], ResultLine | None]:
        """Run one encoded command: hold the channel until its final code only, then await its
        result line (if it has one) outside the channel."""
        self._raise_if_closed()
        waiter = self._register(command.result) if command.result is not None else None
        try:
            lines = await self._channel.transact(command, timeout or self.command_timeout)
            if waiter is None:
                return lines, None
            limit = (
                result_timeout
                or self.result_timeout
                or default_result_timeout(
                    DEFAULT_PKT_TIMEOUT, DEFAULT_RETRIES, self.command_timeout
                )
            )
            try:
                with anyio.fail_after(limit):
                    return lines, await waiter.future
            except TimeoutError:
                raise Nm28TimeoutError(
                    f"{command.log_text}: no result line within {limit:g} s"
                ) from None
        finally:
            if waiter is not None and self._waiters.get(waiter.key) is waiter:
                del self._waiters[waiter.key]

    def _register(self, key: ResultKey) -> ResultWaiter:
        if key in self._waiters:
            if key.client_index is None:  # +CTWINGPOSTVER: <result> names no client
                raise Nm28Error(
                    f"a {key.name} already awaits its result line, which names no client:"
                    " only one at a time can be matched to its caller"
                )
            raise Nm28Error(f"a {key.name} for client {key.client_index} is already pending")
        waiter = ResultWaiter(key)
        self._waiters[key] = waiter
        return waiter

    def _raise_if_closed(self) -> None:
        if self._error is not None:
            raise self._error

    # --- reader -----------------------------------------------------------------------------

    async def _read_loop(
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        task_status.started()
        reader = self._reader
        try:
            while True:
                data = await reader.read(READ_SIZE)
                if not data:
                    raise PortLostError(f"{self.port} closed (end of stream)")
                self.feed(data)
        except OSError as exc:
            self._terminate(PortLostError(f"{self.port} lost: {exc}"))
        except PortLostError as exc:
            self._terminate(exc)

    def feed(self, data: bytes) -> None:
        """Route everything the module said in `data`; never raises, never waits."""
        for event in self._parser.feed(data):
            try:
                self._dispatch(event)
            except Exception:
                log.exception("dropped an event the driver could not route: %r", event)

    def _dispatch(self, event: Event) -> None:
        if type(event) is MqttRecv:
            if wire.isEnabledFor(logging.DEBUG):
                wire.debug(
                    "RX +MQTTRECV client %d packet %d topic %r %d bytes",
                    event.client_index,
                    event.packet_id,
                    event.topic,
                    len(event.payload),
                )
            if event.length_mismatch:
                log.warning(
                    "+MQTTRECV length mismatch on client %d: declared %s, got %d bytes",
                    event.client_index,
                    event.declared_length,
                    len(event.payload),
                )
            if event.payload_included and event.client_index in limits.CLIENT_INDEXES:
                self._clients[event.client_index].deliver(event)
            else:
                self._put_urc(event)
            return
        if wire.isEnabledFor(logging.DEBUG):
            wire.debug("RX %s", redact(repr(event)))
        in_flight = self._channel.in_flight
        if isinstance(event, Final):
            if not self._channel.on_final(event):
                log.warning("unexpected %s with no command in flight dropped", event.kind.value)
                self.unexpected_finals += 1
                for final_listener in self._final_listeners:
                    try:
                        final_listener(event)
                    except Exception:
                        log.exception("final-code listener %r failed", final_listener)
        elif isinstance(event, Prompt):
            self._channel.on_prompt(event)
        elif isinstance(event, ResultLine):
            self._route_line(event, in_flight)
        elif isinstance(event, TextLine):
            if event.text in self.reboot_banners:
                self._on_reboot(event)
            elif in_flight is not None and in_flight.collects_text:
                in_flight.lines.append(event)
            else:
                self._put_urc(event)
        elif isinstance(event, Garbage):
            self.garbage_count += 1
            log.warning("skipped %s: %r", event.reason, event.data[:64])
        elif isinstance(event, Echo):
            pass

    def _route_line(self, line: ResultLine, in_flight: InFlight | None) -> None:
        key = result_key(line)
        waiter = self._waiters.get(key) if key is not None else None
        if waiter is not None:
            if is_progress(line):
                waiter.progress.append(line)
                log.info("%s: retransmitting", redact(line.raw))
            else:
                waiter.resolve(line)
        elif in_flight is not None and in_flight.collects(line):
            in_flight.lines.append(line)
        elif "+" + line.name in self.reboot_banners:
            self._on_reboot(line)
        else:
            if key is not None:
                log.info("result line nobody awaits (late or unsolicited): %s", line.raw)
            self._put_urc(line)

    def _on_reboot(self, banner: ResultLine | TextLine) -> None:
        """A reboot banner: what was in flight cannot complete; echo is back on."""
        self.reboots += 1
        log.warning("module rebooted (%s)", banner)
        error = ModuleRebootedError(f"the module rebooted ({banner})")
        self._channel.fail(error)
        self._channel.needs_sync = True
        for waiter in list(self._waiters.values()):
            waiter.fail(error)
        for client in self._clients:
            client.reset_state()
            self._parser.set_length_field(client.index, None)
        self._put_urc(banner)

    def _put_urc(self, urc: Urc) -> None:
        self._urcs.put_nowait(urc)
        for listener in self._urc_listeners:
            try:
                listener(urc)
            except Exception:
                log.exception("URC listener %r failed", listener)

    def _terminate(self, error: Nm28Error) -> None:
        """Fail every pending call and end every iterator: the port is gone or closed."""
        if self._error is not None:
            return
        self._error = error
        self._terminated.set()
        if not isinstance(error, ModemClosedError):
            log.error("%s", error)
        self._channel.fail(error)
        for waiter in list(self._waiters.values()):
            waiter.fail(error)
        iterator_error = None if isinstance(error, ModemClosedError) else error
        for client in self._clients:
            client.end(iterator_error)
        self._urcs.close(iterator_error)

    def set_length_field(self, client_index: int, enabled: bool | None) -> None:
        """Tell the parser whether `+MQTTRECV` of this client carries the length field."""
        self._parser.set_length_field(client_index, enabled)


async def _close_writer(writer: PortWriter) -> None:
    """Close the port and wait for it, even when the caller is being cancelled."""
    writer.close()
    with anyio.CancelScope(shield=True), anyio.move_on_after(2.0):
        try:
            await writer.wait_closed()
        except OSError as exc:
            log.debug("closing %s: %s", writer, exc)
