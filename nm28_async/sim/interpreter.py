"""The module's AT command interpreter: the edge where bytes come in and go out.

It reads one command line at a time (or, in data mode, the counted payload of an
``AT+MQTTPUBEX`` whose prompt was printed: :class:`InputMode`), looks the command up in one
table (:attr:`~.at_syntax.AtLine.head` → handler) and does what the handler's reply says:
print lines, run a network operation whose result line goes before ``OK`` (the manual's
order) or, with ``result_after_ok``, after it from a task of the interpreter's task group so
the AT channel is free while the broker answers, or print the prompt. The handlers
(:mod:`.basic_commands`, :mod:`.radio_commands`, :mod:`.mqtt_commands`) decide; only this
module writes, sleeps and starts tasks.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import ssl
from collections import Counter, deque
from collections.abc import Callable, Mapping

from ..protocol import limits
from .at_syntax import LineRejected, parse_line
from .basic_commands import BasicCommands
from .knobs import PROMPTS, Knobs
from .lifecycle import TASK_PREFIX
from .mqtt_clients import MqttClients
from .mqtt_commands import MqttCommands
from .radio import Air, Radio
from .radio_commands import RadioCommands
from .replies import (
    Answer,
    Change,
    Deferred,
    Effect,
    Handler,
    Later,
    Operation,
    Publication,
    Reply,
    Reset,
    Table,
    frame,
)
from .wire import HostInput, HostOutput

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 4096
PAYLOAD_IDLE_TIMEOUT = 10.0
"""Seconds of silence after which a half-sent PUBEX payload is abandoned with ERROR."""

CACHED_MESSAGES = 100
"""Messages a client with ``"cached",1`` keeps while no host is attached (TCP serving)."""


class InputMode(enum.Enum):
    """What the module makes of the host's next bytes."""

    COMMAND = "command"
    """Command lines, each ended by CR or LF."""
    PAYLOAD = "payload"
    """Data mode after the prompt: exactly the declared length of a PUBEX payload."""


def merge(*tables: Table) -> dict[str, Handler]:
    """One dispatch table from the command families'; a head claimed twice is a bug."""
    merged: dict[str, Handler] = {}
    for table in tables:
        clash = merged.keys() & table.keys()
        if clash:
            raise ValueError(f"commands handled twice: {sorted(clash)}")
        merged.update(table)
    return merged


class AtInterpreter:
    """One power cycle of the module: :meth:`run` serves the host until cancelled, then
    :meth:`shutdown` cuts the links. Results printed after ``OK`` and registrations due
    later run in the interpreter's own task group, so they end with it.

    ``air`` is the network around the module, which outlives this power cycle; the radio
    (:attr:`radio`) is this cycle's. ``on_reset`` is called for ``AT+CFUN=1,1`` once its
    ``OK`` is written: whoever owns the module resets it.
    """

    def __init__(
        self,
        host_in: HostInput,
        host_out: HostOutput,
        knobs: Knobs,
        broker: tuple[str, int],
        tls_contexts: Mapping[int, ssl.SSLContext],
        received: Counter[str],
        air: Air,
        on_reset: Callable[[], None],
    ) -> None:
        self._in = host_in
        self._out = host_out
        self._knobs = knobs
        self._received = received
        self._on_reset = on_reset
        self.radio = Radio(air)
        self._basic = BasicCommands(knobs.echo)
        self._clients = MqttClients(knobs, self._urc)
        self._mqtt = MqttCommands(self._clients, self.radio, broker, tls_contexts, self._say)
        self._table = merge(
            self._basic.table(), RadioCommands(self.radio).table(), self._mqtt.table()
        )
        self._publication: Publication | None = None  # set in data mode
        self._group = asyncio.TaskGroup()
        self._cache: deque[bytes] = deque(maxlen=CACHED_MESSAGES)

    @property
    def mode(self) -> InputMode:
        return InputMode.COMMAND if self._publication is None else InputMode.PAYLOAD

    # lifecycle --------------------------------------------------------------------

    async def run(self) -> None:
        """Read and execute what the host sends, in the current input mode, until cancelled."""
        async with self._group:
            while True:
                if self._publication is None:
                    await self._command()
                else:
                    await self._payload(self._publication)

    async def shutdown(self) -> None:
        """Power off once :meth:`run` has ended: cut every client's link."""
        await self._clients.shutdown()

    def drop_link(self, index: int) -> bool:
        return self._clients.drop(index)

    def host_attached(self) -> None:
        """A host connected: hand over what ``cached`` clients kept meanwhile."""
        while self._cache:
            self._write(self._cache.popleft())

    def apply(self, effect: Effect) -> None:
        """Do what a radio transition or a command asks for next: print a change's URCs and
        drop the links when the data path went, schedule a later transition, or reset."""
        if isinstance(effect, Change):
            if effect.urcs:
                self._write(frame(*effect.urcs))
            if effect.data_lost:
                self._clients.drop_all()
        elif isinstance(effect, Later):
            self._group.create_task(self._later(effect), name=f"{TASK_PREFIX}registration")
        elif isinstance(effect, Reset):
            self._on_reset()

    async def _later(self, later: Later) -> None:
        await asyncio.sleep(later.delay)
        self.apply(later.transition())

    # input ---------------------------------------------------------------------------

    async def _command(self) -> None:
        line = await self._in.read_line(MAX_LINE_BYTES)
        if line is None:
            self._write(frame("ERROR"))
            return
        line = line.lstrip(b"\x1a\x00 ")  # a Ctrl-Z after a payload, a UART's wake-up NULs
        if not line:
            return
        if self._basic.echo:
            self._write(line + b"\r")
        if self._knobs.command_latency:
            await asyncio.sleep(self._knobs.command_latency)
        try:
            cmd = parse_line(line)
            log.debug("command %s", cmd.head)
            self._received[cmd.head] += 1
            handler = self._table.get(cmd.head)
            if handler is None:
                raise LineRejected("unsupported command")
            await self._perform(handler(cmd))
        except LineRejected as exc:
            log.debug("ERROR: %s", exc)
            self._write(frame("ERROR"))

    async def _payload(self, publication: Publication) -> None:
        """Data mode: the declared number of bytes, then command mode again, whatever came."""
        try:
            payload = await self._in.read_exactly(publication.length, PAYLOAD_IDLE_TIMEOUT)
        finally:
            self._publication = None
        if payload is None:
            self._write(frame("ERROR"))
        else:
            stray = self._uncounted_line_end()
            await self._perform(self._mqtt.publish(publication, payload, stray))

    def _uncounted_line_end(self) -> bool:
        """After the payload: swallow a Ctrl-Z; say whether a CR/LF arrived with it.

        Only bytes that already arrived are judged; a CR/LF arriving later is an empty line.
        """
        tail = self._in.pending()[:3]
        stray = len(tail) - len(tail.lstrip(b"\r\n"))
        if tail[stray : stray + 1] == limits.CTRL_Z:
            self._in.discard(stray + 1)
        else:
            self._in.discard(stray)
        return stray > 0

    # output ------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        self._out.write(data)

    def _say(self, line: str) -> None:
        """A line printed while an operation runs (a retransmission's progress)."""
        self._write(frame(line))

    def _urc(self, body: bytes, keep: bool) -> None:
        """A client's URC; a ``cached`` client's is kept while no host is attached."""
        if keep and not self._out.attached:
            self._cache.append(body)
        else:
            self._write(body)

    async def _perform(self, reply: Reply) -> None:
        if isinstance(reply, Answer):
            self._write(frame(*reply.lines))
            for effect in reply.then:
                self.apply(effect)
        elif isinstance(reply, Deferred):
            await self._complete(reply)
        else:
            if self._knobs.prompt_latency:
                await asyncio.sleep(self._knobs.prompt_latency)
            self._in.clear()  # what came before the prompt is not payload
            self._publication = reply.publication
            self._write(PROMPTS[self._knobs.prompt])

    async def _complete(self, deferred: Deferred) -> None:
        """Print the operation's result line(s) and OK in the configured order.

        A network-bound operation takes ``network_latency`` longer: in the manual's order
        the result line and ``OK`` both wait for it, as on a slow cellular link.
        """
        operation = deferred.operation
        if self._knobs.network_latency and deferred.over_network:
            operation = self._slowed(operation, self._knobs.network_latency)
        if not self._knobs.result_after_ok:
            self._write(frame(*await operation(), "OK"))
            return
        self._write(frame("OK"))
        self._group.create_task(self._late(operation), name=f"{TASK_PREFIX}late result")

    @staticmethod
    def _slowed(operation: Operation, latency: float) -> Operation:
        async def slowed() -> list[str]:
            lines = await operation()
            await asyncio.sleep(latency)
            return lines

        return slowed

    async def _late(self, operation: Operation) -> None:
        self._write(frame(*await operation()))
