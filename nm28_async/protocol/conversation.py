"""The AT conversation with one module, as a state machine: no I/O, no clocks.

The engine hands it commands (`submit`), the bytes the module sent (`receive_data`),
callers that gave up (`cancel`) and the time when its timer fires (`handle_timer`); it
answers with the bytes to write (`data_to_send`), what happened (`events`) and when it next
needs to know the time (`get_timer`). h11's `Connection` and aioquic's connection are the
models. Every rule about the channel lives here:

* One command on the wire at a time; only its final code (`OK`, `ERROR`) frees the channel.
  A result line is matched to its command by name, client index and message id, before or
  after `OK`; a retransmission notice is progress.
* A command that timed out may still get its final code: the next command is preceded by
  an `AT` probe that absorbs it. A probe never takes a prompt for its answer.
* A publish whose prompt is late, or whose caller gave up, still owes its prompt: nothing is
  written until the prompt comes (then its payload goes) or a final code does, so no command
  byte ever lands in the module's data mode.
* A reboot banner fails what was in flight and resynchronises (`AT`, `ATE0`) before the
  next command.
* A `+MQTTRECV` waiting for bytes its declared length promises is decided when the stream
  has been quiet for `FRAME_QUIET_GAP`.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

from .commands import Command, ResultKey
from .events import Event, Final, Garbage, Message, Prompt, RecvNotice, ResultLine, TextLine
from .limits import CLIENT_INDEXES
from .parser import Parser
from .redact import redact
from .results import Answer, is_progress, parse_answer

log = logging.getLogger("nm28_async")
wire_log = logging.getLogger("nm28_async.wire")

QUIET_AFTER_PROBE = 0.2
"""After the probe's answer, how long to wait for each further final still owed. At start-up
and after a reboot nobody knows what is owed: the probe waits until the module is that long
quiet."""

FRAME_QUIET_GAP = 1.0
"""Seconds of silence that end a +MQTTRECV still waiting for its declared bytes: a module
prints a frame in one go, so silence inside one means its length was wrong."""

_PROBE = b"AT\r"
_ECHO_OFF = b"ATE0\r"

SYNCHRONISE = Command(b"", "(synchronise: AT until answered, then ATE0)")
"""Submitted, it resynchronises the channel (start-up): `AT` until answered, then `ATE0`.
Nothing of its own is written; it completes once the probe did, or fails after the
configured attempts."""


class Failure(enum.Enum):
    """Why a command did not complete."""

    REFUSED = "refused"
    """The module answered `ERROR` or `+CME ERROR`."""
    TIMED_OUT = "timed out"
    """No final code (or no prompt) in time: the outcome is unknown."""
    NO_RESULT = "no result line"
    """`OK` came, its result line did not."""
    REBOOTED = "module rebooted"
    UNSYNCHRONISED = "module does not answer AT"
    BUSY = "already pending"
    """A command awaiting the same result line (name, client, message id) is pending."""


class Completed(NamedTuple):
    """A command succeeded: its information lines, and its result line (as the module
    printed it, and as a typed answer) if it has one. (Tuples, as every command makes one.)"""

    handle: int
    lines: tuple[ResultLine | TextLine, ...]
    answer: Answer | None
    result: ResultLine | None = None


class Failed(NamedTuple):
    handle: int
    failure: Failure
    final: Final | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Progress:
    """A retransmission notice for a command whose result is still to come."""

    handle: int
    answer: Answer


@dataclass(frozen=True, slots=True)
class Unsolicited:
    """A line no command claimed: an unknown URC, a late result line, a banner, a message
    for a client index the module does not have, or a message announced without payload."""

    line: ResultLine | TextLine | RecvNotice | Message


@dataclass(frozen=True, slots=True)
class Rebooted:
    """A reboot banner (`RDY`, `+PBREADY`...): the module forgot its settings and echo."""

    banner: ResultLine | TextLine

    @property
    def text(self) -> str:
        return self.banner.text


@dataclass(frozen=True, slots=True)
class UnexpectedFinal:
    """A final code with no command in flight and none owed: the module said something the
    conversation cannot account for."""

    final: Final


ConversationEvent = (
    Completed | Failed | Progress | Unsolicited | Rebooted | UnexpectedFinal | Garbage
)


@dataclass(slots=True)
class Statistics:
    """What the conversation skipped or absorbed, for monitoring."""

    garbage: int = 0
    unexpected_finals: int = 0
    unexpected_prompts: int = 0
    late_finals: int = 0
    reboots: int = 0


class _Stage(enum.Enum):
    QUEUED = "queued"
    PROMPT = "awaiting the prompt"
    FINAL = "awaiting the final code"
    RESULT = "awaiting the result line"


class _Exchange:
    """One command from submission to its end."""

    __slots__ = (
        "answer",
        "command",
        "deadline",
        "handle",
        "lines",
        "local_timeout",
        "network_timeout",
        "prompt_owed_until",
        "result",
        "stage",
    )

    def __init__(
        self, handle: int, command: Command, local_timeout: float, network_timeout: float
    ) -> None:
        self.handle = handle
        self.command = command
        self.local_timeout = local_timeout
        self.network_timeout = network_timeout
        self.stage = _Stage.QUEUED
        self.deadline = 0.0
        self.prompt_owed_until = 0.0
        self.lines: list[ResultLine | TextLine] = []
        self.answer: Answer | None = None
        self.result: ResultLine | None = None


class _ProbeStage(enum.Enum):
    AT = "AT sent"
    QUIET = "absorbing owed finals"
    ECHO_OFF = "ATE0 sent"


class _Probe:
    """`AT` (retried) to resynchronise; then `ATE0` when the module may have rebooted."""

    __slots__ = ("attempt", "attempts", "deadline", "echo_off", "owed", "stage")

    def __init__(self, attempts: int, owed: int, echo_off: bool) -> None:
        self.attempts = attempts
        self.attempt = 0
        self.owed = owed
        self.echo_off = echo_off
        self.stage = _ProbeStage.AT
        self.deadline = 0.0


class Conversation:
    """The state of the AT channel and of the commands on it."""

    def __init__(
        self,
        *,
        probe_timeout: float,
        reboot_banners: frozenset[str],
        sync_attempts: int = 5,
    ) -> None:
        self.statistics = Statistics()
        self._probe_timeout = probe_timeout
        self._banners = reboot_banners
        self._sync_attempts = sync_attempts
        self._parser = Parser()
        self._out = bytearray()
        self._events: list[ConversationEvent] = []
        self._messages: list[Message] = []
        self._queue: deque[_Exchange] = deque()
        self._live: dict[int, _Exchange] = {}
        """The commands someone still waits for (not after cancel, nor after a timeout)."""
        self._keys: dict[ResultKey, _Exchange] = {}
        self._wire: _Exchange | None = None
        self._probe: _Probe | None = None
        self._needs_sync = True
        self._owed_finals = 0
        self._next_handle = 1
        self._frame_deadline: float | None = None

    # --- what the engine calls ---------------------------------------------------------------

    def submit(
        self, command: Command, now: float, *, local_timeout: float, network_timeout: float
    ) -> int:
        """Queue a command; returns its handle. It is written when the channel is free.

        `local_timeout` bounds a prompt, and the final code of a local command;
        `network_timeout` bounds the final code of a network-bound command and the result
        line after `OK`. `SYNCHRONISE` resynchronises the channel.
        """
        handle = self._next_handle
        self._next_handle += 1
        if command is SYNCHRONISE:
            self._needs_sync = True
        exchange = _Exchange(handle, command, local_timeout, network_timeout)
        key = command.result
        if key is not None and key in self._keys:
            self._events.append(Failed(handle, Failure.BUSY, detail=_describe(key)))
            return handle
        if key is not None:
            self._keys[key] = exchange
        self._live[handle] = exchange
        self._queue.append(exchange)
        self._advance(now)
        return handle

    def cancel(self, handle: int, now: float) -> None:
        """The caller gave up. A queued command is dropped unwritten; one on the wire keeps
        the channel until its final code (and owed prompt) settle; a result is forgotten."""
        exchange = self._live.pop(handle, None)
        if exchange is None:
            return
        self._release_key(exchange)
        if exchange.stage is _Stage.QUEUED:
            self._queue.remove(exchange)
            self._advance(now)

    def receive_data(self, data: bytes | bytearray | memoryview, now: float) -> None:
        """Route everything the module said in `data`."""
        parser = self._parser
        parsed = parser.feed(data)
        if parser.only_messages:  # a message stream: nothing to route, nothing to copy
            if self._messages:
                self._messages += parsed  # type: ignore[arg-type]
            else:
                self._messages = parsed  # type: ignore[assignment]
        else:
            self._route(parsed, now)
        self._frame_deadline = now + FRAME_QUIET_GAP if self._parser.awaiting_frame else None

    def handle_timer(self, now: float) -> None:
        """Act on every deadline that has passed (see `get_timer`)."""
        if self._frame_deadline is not None and now >= self._frame_deadline:
            self._frame_deadline = None
            self._route(self._parser.end_frame(), now)
        probe = self._probe
        if probe is not None and now >= probe.deadline:
            self._probe_timed_out(probe, now)
        wire = self._wire
        if wire is not None and now >= wire.deadline:
            self._wire_timed_out(wire, now)
        for exchange in [e for e in self._keys.values() if e.stage is _Stage.RESULT]:
            if now >= exchange.deadline:
                self._fail(
                    exchange,
                    Failure.NO_RESULT,
                    detail=f"no result line within {exchange.network_timeout:g} s",
                )
        self._advance(now)

    def get_timer(self) -> float | None:
        """When `handle_timer` must next be called, or None."""
        if not self._keys and self._probe is None and self._frame_deadline is None:
            return None if self._wire is None else self._wire.deadline
        times = [e.deadline for e in self._keys.values() if e.stage is _Stage.RESULT]
        if self._wire is not None:
            times.append(self._wire.deadline)
        if self._probe is not None:
            times.append(self._probe.deadline)
        if self._frame_deadline is not None:
            times.append(self._frame_deadline)
        return min(times, default=None)

    def data_to_send(self) -> bytes:
        """Bytes to write to the module now."""
        if not self._out:
            return b""
        data = bytes(self._out)
        self._out.clear()
        return data

    def events(self) -> list[ConversationEvent]:
        """Everything but messages that happened since the last call, in order."""
        events = self._events
        self._events = []
        return events

    def messages(self) -> list[Message]:
        """The messages received since the last call, in order, for clients 0..5.

        Apart from `events` (one list per call, not one call per message: the message
        stream is the hot path); no ordering between a message and an event matters, since
        they go to different consumers."""
        messages = self._messages
        self._messages = []
        return messages

    def set_length_field(self, client_index: int, enabled: bool | None) -> None:
        """Whether a client's `+MQTTRECV` carries the length field (None: detect it)."""
        self._parser.set_length_field(client_index, enabled)

    @property
    def synchronised(self) -> bool:
        return not self._needs_sync

    @property
    def idle(self) -> bool:
        """No command queued, on the wire or awaiting its result line: nothing waits for an
        answer from the module."""
        return self._wire is None and self._probe is None and not self._live

    # --- routing -----------------------------------------------------------------------------

    def _route(self, parsed: list[Event], now: float) -> None:
        events = self._events
        for event in parsed:
            if isinstance(event, Message):
                if event.client_index in CLIENT_INDEXES:
                    self._messages.append(event)
                else:
                    events.append(Unsolicited(event))
            elif isinstance(event, Final):
                self._on_final(event, now)
            elif isinstance(event, ResultLine):
                self._on_result_line(event, now)
            elif isinstance(event, TextLine):
                self._on_text(event, now)
            elif isinstance(event, Prompt):
                self._on_prompt(now)
            elif isinstance(event, RecvNotice):
                events.append(Unsolicited(event))
            elif isinstance(event, Garbage):
                self.statistics.garbage += 1
                events.append(event)
            # an Echo is the module repeating our own line: nothing to do

    def _on_final(self, final: Final, now: float) -> None:
        if self._probe is not None:
            self._probe_final(self._probe, final, now)
            return
        wire = self._wire
        if wire is not None:
            self._wire = None
            if not final.ok:
                self._fail(wire, Failure.REFUSED, final)
            elif (
                wire.command.result is not None
                and wire.answer is None
                and wire.handle in self._live
            ):
                wire.stage = _Stage.RESULT  # off the channel: its broker may take a while
                wire.deadline = now + wire.network_timeout
            else:
                self._finish(wire)
            self._advance(now)
            return
        if self._owed_finals:
            self._owed_finals -= 1
            self.statistics.late_finals += 1
            log.info("late %s of a timed-out command absorbed", final.kind.value)
            return
        self.statistics.unexpected_finals += 1
        log.warning("unexpected %s with no command in flight dropped", final.kind.value)
        self._events.append(UnexpectedFinal(final))

    def _on_prompt(self, now: float) -> None:
        wire = self._wire
        if self._probe is None and wire is not None and wire.stage is _Stage.PROMPT:
            assert wire.command.payload is not None
            if wire.handle not in self._live:
                log.info("late prompt of %s: its payload is written", wire.command.log_text)
            self._send(wire.command.payload, f"<payload {len(wire.command.payload)} bytes>")
            wire.stage = _Stage.FINAL
            timeout = wire.network_timeout if wire.command.network else wire.local_timeout
            wire.deadline = now + timeout
            return
        self.statistics.unexpected_prompts += 1
        log.warning("a prompt no publish waits for: ignored (it is never a probe's answer)")

    def _on_result_line(self, line: ResultLine, now: float) -> None:
        answer = parse_answer(line)
        if answer is not None:
            exchange = self._keys.get(answer.key)
            if exchange is not None and exchange.stage is not _Stage.QUEUED:
                if is_progress(answer):
                    log.info("%s: retransmitting", redact(line.raw))
                    self._events.append(Progress(exchange.handle, answer))
                    return
                exchange.answer = answer
                exchange.result = line
                if exchange.stage is _Stage.RESULT:
                    self._finish(exchange)
                return  # the result before OK (the manual's order): the final completes it
        wire = self._wire
        if (
            wire is not None
            and wire.command.info == line.name
            and (answer is None or wire.command.result is None)
        ):  # an information line, or the result line of a raw command (for its caller to read)
            wire.lines.append(line)
        elif "+" + line.name in self._banners:
            self._reboot(line, now)
        else:
            if answer is not None:
                log.info("result line nobody awaits (late or unsolicited): %s", redact(line.raw))
            self._events.append(Unsolicited(line))

    def _on_text(self, line: TextLine, now: float) -> None:
        if line.text in self._banners:
            self._reboot(line, now)
        elif self._wire is not None and self._wire.command.text:
            self._wire.lines.append(line)
        else:
            self._events.append(Unsolicited(line))

    def _reboot(self, line: ResultLine | TextLine, now: float) -> None:
        """What was in flight cannot complete; the module forgot its settings and echo."""
        self.statistics.reboots += 1
        event = Rebooted(line)
        banner = event.text
        log.warning("module rebooted (%s)", redact(banner))
        self._events.append(event)
        for exchange in [e for e in self._keys.values() if e.stage is not _Stage.QUEUED]:
            self._fail(exchange, Failure.REBOOTED, detail=banner)
        if self._wire is not None:
            self._fail(self._wire, Failure.REBOOTED, detail=banner)
            self._wire = None
        self._probe = None
        self._owed_finals = 0
        self._needs_sync = True
        for index in CLIENT_INDEXES:
            self._parser.set_length_field(index, None)
        self._advance(now)

    # --- the channel -------------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        """Write the next command if the channel is free, preceded by a probe if needed."""
        while self._wire is None and self._probe is None and self._queue:
            if self._needs_sync:
                self._start_probe(self._sync_attempts, echo_off=True, now=now)
                return
            if self._owed_finals:
                self._start_probe(1, echo_off=False, now=now)
                return
            exchange = self._queue.popleft()
            if exchange.command is SYNCHRONISE:
                self._finish(exchange)
            else:
                self._write(exchange, now)

    def _write(self, exchange: _Exchange, now: float) -> None:
        command = exchange.command
        self._send(command.line, command.log_text)
        if command.payload is not None:
            exchange.stage = _Stage.PROMPT
            exchange.deadline = now + exchange.local_timeout
            exchange.prompt_owed_until = now + max(exchange.network_timeout, exchange.local_timeout)
        else:
            exchange.stage = _Stage.FINAL
            timeout = exchange.network_timeout if command.network else exchange.local_timeout
            exchange.deadline = now + timeout
        self._wire = exchange

    def _wire_timed_out(self, wire: _Exchange, now: float) -> None:
        if wire.stage is _Stage.PROMPT and now < wire.prompt_owed_until:
            # The caller learns of it now (the outcome is unknown), but the prompt is still
            # owed: nothing is written until it, or a final code, comes.
            detail = f"no prompt within {wire.local_timeout:g} s"
            self._fail(wire, Failure.TIMED_OUT, detail=detail)
            wire.deadline = wire.prompt_owed_until
            return
        self._wire = None
        self._owed_finals += 1
        late = wire.network_timeout if wire.command.network else wire.local_timeout
        self._fail(wire, Failure.TIMED_OUT, detail=f"no final result code within {late:g} s")

    def _start_probe(self, attempts: int, *, echo_off: bool, now: float) -> None:
        self._probe = _Probe(attempts, self._owed_finals, echo_off)
        self._send_probe(self._probe, now)

    def _send_probe(self, probe: _Probe, now: float) -> None:
        probe.attempt += 1
        probe.stage = _ProbeStage.AT
        probe.deadline = now + min(self._probe_timeout, 1.0 * probe.attempt)
        self._send(_PROBE, "AT")

    def _probe_final(self, probe: _Probe, final: Final, now: float) -> None:
        if probe.stage is _ProbeStage.ECHO_OFF:
            if not final.ok:
                log.warning("the module refused to turn echo off; echoes will be dropped")
            self._synchronised(now)
        elif probe.stage is _ProbeStage.AT and (probe.owed or probe.echo_off):
            # This final may be a late one owed by a timed-out command, or (at start-up, after
            # a reboot) by commands of a host that went away: wait a moment for the others,
            # the probe's own among them.
            probe.stage = _ProbeStage.QUIET
            probe.deadline = now + QUIET_AFTER_PROBE
        elif probe.stage is _ProbeStage.QUIET:
            probe.owed -= 1
            self.statistics.late_finals += 1
            if probe.owed > 0 or probe.echo_off:
                probe.deadline = now + QUIET_AFTER_PROBE
            else:
                self._probe_answered(probe, now)
        else:
            self._probe_answered(probe, now)

    def _probe_answered(self, probe: _Probe, now: float) -> None:
        self._owed_finals = 0
        if probe.echo_off:
            probe.stage = _ProbeStage.ECHO_OFF
            probe.deadline = now + self._probe_timeout
            self._send(_ECHO_OFF, "ATE0")
        else:
            self._probe = None
            self._advance(now)

    def _probe_timed_out(self, probe: _Probe, now: float) -> None:
        if probe.stage is _ProbeStage.QUIET:
            self._probe_answered(probe, now)
            return
        probe.owed += 1  # its own final may still come
        if probe.stage is _ProbeStage.ECHO_OFF:
            log.warning("the module did not answer ATE0; echoes will be dropped")
            self._owed_finals = probe.owed
            self._synchronised(now)
        elif probe.attempt < probe.attempts:
            self._send_probe(probe, now)
        else:
            self._probe = None
            self._owed_finals = probe.owed
            if self._queue:
                detail = f"the module did not answer AT ({probe.attempts} attempts)"
                self._fail(self._queue[0], Failure.UNSYNCHRONISED, detail=detail)

    def _synchronised(self, now: float) -> None:
        self._probe = None
        self._needs_sync = False
        log.info("synchronised with the module")
        self._advance(now)

    def _send(self, data: bytes, log_text: str) -> None:
        if wire_log.isEnabledFor(logging.DEBUG):
            wire_log.debug("TX %s", log_text)
        self._out += data

    # --- endings -----------------------------------------------------------------------------

    def _finish(self, exchange: _Exchange) -> None:
        self._release_key(exchange)
        if self._live.pop(exchange.handle, None) is not None:
            lines = tuple(exchange.lines)
            self._events.append(Completed(exchange.handle, lines, exchange.answer, exchange.result))

    def _fail(
        self, exchange: _Exchange, failure: Failure, final: Final | None = None, detail: str = ""
    ) -> None:
        self._release_key(exchange)
        if exchange.stage is _Stage.QUEUED:
            self._queue.remove(exchange)
        if self._live.pop(exchange.handle, None) is not None:
            self._events.append(Failed(exchange.handle, failure, final, detail))

    def _release_key(self, exchange: _Exchange) -> None:
        key = exchange.command.result
        if key is not None and self._keys.get(key) is exchange:
            del self._keys[key]


def _describe(key: ResultKey) -> str:
    if key.client_index is None:
        return (
            f"a {key.name} already awaits its result line, which names no client: only one at"
            " a time can be matched to its caller"
        )
    what = "" if key.msg_id is None else f" with message id {key.msg_id}"
    return f"a {key.name} for client {key.client_index}{what} is already pending"
