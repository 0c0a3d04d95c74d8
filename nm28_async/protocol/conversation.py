"""The AT conversation with one module, as a state machine: no I/O, no clocks.

The engine hands it commands (`submit`), the bytes the module sent (`receive_data`),
callers that gave up (`cancel`) and the time when its timer fires (`handle_timer`); it
answers with the bytes to write (`data_to_send`), what happened (`events`) and when it next
needs to know the time (`get_timer`). h11's `Connection` and aioquic's connection are the
models. Every rule about the channel lives here, or in the two parts it composes: the book
of owed results (`owed`) and the synchroniser (`synchroniser`).

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

import logging

from .commands import Command
from .events import Event, Final, Garbage, Message, Prompt, RecvNotice, ResultLine, TextLine
from .limits import CLIENT_INDEXES
from .outcomes import (
    Completed,
    ConversationEvent,
    Failed,
    Failure,
    Progress,
    Rebooted,
    Statistics,
    UnexpectedFinal,
    Unsolicited,
)
from .owed import Book, Exchange, Stage
from .parser import Parser
from .redact import redact
from .results import is_progress, parse_answer
from .synchroniser import QUIET_AFTER_PROBE, SYNCHRONISE, Synchroniser, Unanswered, Verdict

__all__ = [
    "FRAME_QUIET_GAP",
    "QUIET_AFTER_PROBE",
    "SYNCHRONISE",
    "Completed",
    "Conversation",
    "ConversationEvent",
    "Failed",
    "Failure",
    "Progress",
    "Rebooted",
    "Statistics",
    "UnexpectedFinal",
    "Unsolicited",
]

log = logging.getLogger("nm28_async")
wire_log = logging.getLogger("nm28_async.wire")

FRAME_QUIET_GAP = 1.0
"""Seconds of silence that end a +MQTTRECV still waiting for its declared bytes: a module
prints a frame in one go, so silence inside one means its length was wrong."""


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
        self._banners = reboot_banners
        self._parser = Parser()
        self._out = bytearray()
        self._events: list[ConversationEvent] = []
        self._messages: list[Message] = []
        self._book = Book(self._emit)
        self._sync = Synchroniser(
            probe_timeout=probe_timeout,
            attempts=sync_attempts,
            send=self._send,
            statistics=self.statistics,
        )
        self._wire: Exchange | None = None
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
        if command is SYNCHRONISE:
            self._sync.require()
        handle = self._book.submit(
            command, local_timeout=local_timeout, network_timeout=network_timeout
        )
        self._advance(now)
        return handle

    def cancel(self, handle: int, now: float) -> None:
        """The caller gave up. A queued command is dropped unwritten; one on the wire keeps
        the channel until its final code (and owed prompt) settle; a result is forgotten."""
        if self._book.cancel(handle):
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
        self._settle(self._sync.on_timer(now), now)
        wire = self._wire
        if wire is not None and now >= wire.deadline:
            self._wire_timed_out(wire, now)
        self._book.expire(now)
        self._advance(now)

    def get_timer(self) -> float | None:
        """When `handle_timer` must next be called, or None."""
        wire = self._wire
        timer = None if wire is None else wire.deadline
        for deadline in (self._book.deadline(), self._sync.deadline, self._frame_deadline):
            if deadline is not None and (timer is None or deadline < timer):
                timer = deadline
        return timer

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
        return self._sync.synchronised

    @property
    def idle(self) -> bool:
        """No command queued, on the wire or awaiting its result line: nothing waits for an
        answer from the module."""
        return self._wire is None and not self._sync.probing and self._book.idle

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
        if self._sync.probing:
            self._settle(self._sync.on_final(final, now), now)
            return
        wire = self._wire
        if wire is not None:
            self._wire = None
            if not final.ok:
                self._book.fail(wire, Failure.REFUSED, final)
            elif (
                wire.command.result is not None and wire.answer is None and self._book.awaited(wire)
            ):
                wire.await_result(now)
            else:
                self._book.finish(wire)
            self._advance(now)
            return
        if self._sync.absorb(final):
            return
        self.statistics.unexpected_finals += 1
        log.warning("unexpected %s with no command in flight dropped", final.kind.value)
        self._events.append(UnexpectedFinal(final))

    def _on_prompt(self, now: float) -> None:
        wire = self._wire
        if not self._sync.probing and wire is not None and wire.stage is Stage.PROMPT:
            assert wire.command.payload is not None
            if not self._book.awaited(wire):
                log.info("late prompt of %s: its payload is written", wire.command.log_text)
            self._send(wire.command.payload, f"<payload {len(wire.command.payload)} bytes>")
            wire.await_final(now)
            return
        self.statistics.unexpected_prompts += 1
        log.warning("a prompt no publish waits for: ignored (it is never a probe's answer)")

    def _on_result_line(self, line: ResultLine, now: float) -> None:
        answer = parse_answer(line)
        if answer is not None:
            exchange = self._book.claimant(answer.key)
            if exchange is not None:
                if is_progress(answer):
                    log.info("%s: retransmitting", redact(line.raw))
                    self._events.append(Progress(exchange.handle, answer))
                    return
                exchange.answer = answer
                exchange.result = line
                if exchange.stage is Stage.RESULT:
                    self._book.finish(exchange)
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
        for exchange in self._book.in_flight():
            self._book.fail(exchange, Failure.REBOOTED, detail=banner)
        if self._wire is not None:
            self._book.fail(self._wire, Failure.REBOOTED, detail=banner)
            self._wire = None
        self._sync.forget()
        for index in CLIENT_INDEXES:
            self._parser.set_length_field(index, None)
        self._advance(now)

    # --- the channel -------------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        """Write the next command if the channel is free, preceded by a probe if needed."""
        book = self._book
        while self._wire is None and book.queued and not self._sync.probe_first(now):
            exchange = book.pop_next()
            if exchange.command is SYNCHRONISE:
                book.finish(exchange)
            else:
                self._write(exchange, now)

    def _settle(self, verdict: Verdict | Unanswered, now: float) -> None:
        """Act on what the synchroniser concluded."""
        if verdict is Verdict.FREE:
            self._advance(now)
        elif isinstance(verdict, Unanswered) and self._book.queued:
            self._book.fail(self._book.head, Failure.UNSYNCHRONISED, detail=verdict.detail)

    def _write(self, exchange: Exchange, now: float) -> None:
        command = exchange.command
        self._send(command.line, command.log_text)
        if command.payload is None:
            exchange.await_final(now)
        else:
            exchange.await_prompt(now)
        self._wire = exchange

    def _wire_timed_out(self, wire: Exchange, now: float) -> None:
        if wire.stage is Stage.PROMPT and now < wire.prompt_owed_until:
            # The caller learns of it now (the outcome is unknown), but the prompt is still
            # owed: nothing is written until it, or a final code, comes.
            detail = f"no prompt within {wire.local_timeout:g} s"
            self._book.fail(wire, Failure.TIMED_OUT, detail=detail)
            wire.deadline = wire.prompt_owed_until
            return
        self._wire = None
        self._sync.owe_final()
        detail = f"no final result code within {wire.final_timeout:g} s"
        self._book.fail(wire, Failure.TIMED_OUT, detail=detail)

    def _emit(self, event: ConversationEvent) -> None:
        self._events.append(event)

    def _send(self, data: bytes, log_text: str) -> None:
        if wire_log.isEnabledFor(logging.DEBUG):
            wire_log.debug("TX %s", log_text)
        self._out += data
