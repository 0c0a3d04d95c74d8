"""The AT channel's bookkeeping: the command in flight and the result lines awaited after it."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

import anyio

from .errors import CommandError, ModuleRebootedError, Nm28Error, Nm28TimeoutError, PortLostError
from .protocol import commands
from .protocol.commands import Command, ResultKey
from .protocol.events import Final, Prompt, ResultLine, TextLine
from .transport import PortWriter

log = logging.getLogger("nm28_async")
wire = logging.getLogger("nm28_async.wire")

_QUIET_AFTER_PROBE = 0.2
"""After the resync probe's own OK, how long to wait for finals owed by timed-out commands."""


class InFlight:
    """The one command on the wire: it collects its information lines and its final code."""

    def __init__(self, command: Command) -> None:
        self.command = command
        self.collect_name, self.collects_text = _answer_shape(command.line)
        self.lines: list[ResultLine | TextLine] = []
        self._signals: deque[Final | Prompt] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._error: Nm28Error | None = None
        self._expired = False

    def collects(self, line: ResultLine) -> bool:
        """Information lines of a command carry its name (`AT+CSQ` -> `+CSQ: ...`)."""
        return line.name == self.collect_name

    def push(self, signal: Final | Prompt) -> None:
        self._signals.append(signal)
        self._wake()

    def fail(self, error: Nm28Error) -> None:
        self._error = error
        self._wake()

    def expire(self) -> None:
        """The command's deadline passed: the wait for its next signal raises TimeoutError."""
        self._expired = True
        self._wake()

    async def next_signal(self) -> Final | Prompt:
        """The next final code or prompt, in arrival order."""
        while not self._signals:
            if self._error is not None:
                raise self._error
            if self._expired:
                raise TimeoutError
            self._wakeup = asyncio.get_running_loop().create_future()
            await self._wakeup
        return self._signals.popleft()

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)


class ResultWaiter:
    """Awaits the result line of one command, which may arrive before or after its OK."""

    def __init__(self, key: ResultKey) -> None:
        self.key = key
        self.future: asyncio.Future[ResultLine] = asyncio.get_running_loop().create_future()
        self.progress: list[ResultLine] = []

    def resolve(self, line: ResultLine) -> None:
        if not self.future.done():
            self.future.set_result(line)

    def fail(self, error: Nm28Error) -> None:
        if not self.future.done():
            self.future.set_exception(error)
            self.future.exception()  # mark retrieved: a waiter failed at close may be unawaited


# Commands the manual answers with result lines only: a plain text line during one of them
# is a URC, not part of the answer.
_NO_TEXT_ANSWER = frozenset(
    {"MQTTOPEN", "MQTTCLOSE", "MQTTCONN", "MQTTDISC", "MQTTSUB", "MQTTUNS", "MQTTPUBEX"}
    | {"CTWINGPOSTVER"}
)
_BARE = frozenset({"AT", "ATE0", "ATE1"})


def _answer_shape(line: bytes) -> tuple[str | None, bool]:
    """Which `+NAME:` lines answer this command, and whether plain text lines do too.

    `AT+CSQ` -> ("CSQ", True); `AT+MQTTSUB=...` -> ("MQTTSUB", False); `ATI` -> (None, True).
    `AT+MQTTCFG?` answers in text (its block); `AT+MQTTCFG=...` does not.
    """
    text = line.decode("utf-8", "replace").rstrip("\r").upper()
    if len(text) < 4 or text[2] != "+":
        return None, text not in _BARE
    end = 3
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    name = text[3:end]
    in_text = name not in _NO_TEXT_ANSWER and not (name == "MQTTCFG" and text[end:] != "?")
    return name, in_text


class AtChannel:
    """One command on the wire at a time.

    It holds the lock, the command in flight, and what recovery needs: finals owed by
    timed-out commands, a command whose caller was cancelled, and whether the module must
    be resynchronised (after a reboot) before the next command.
    """

    def __init__(
        self,
        writer: PortWriter,
        *,
        port: str,
        command_timeout: float,
        closed: Callable[[], Nm28Error | None],
        lost: Callable[[Nm28Error], None],
    ) -> None:
        self.port = port
        self.command_timeout = command_timeout
        self.in_flight: InFlight | None = None
        self.needs_sync = False
        self._writer = writer
        self._closed = closed
        self._lost = lost
        self._lock = asyncio.Lock()
        self._owed_finals = 0
        self._abandoned: tuple[InFlight, float, bool] | None = None
        """A command whose caller was cancelled before its final code: (in flight, deadline,
        payload written). The next command waits for that final before it writes."""

    async def transact(self, command: Command, timeout: float) -> list[ResultLine | TextLine]:
        """Take the channel, recover it if needed, run `command` to its final code."""
        async with self._lock:
            error = self._closed()
            if error is not None:
                raise error
            if self._abandoned is not None:
                await self._settle_abandoned()
            if self.needs_sync:
                await self._resynchronise()
            elif self._owed_finals:
                await self._probe(attempts=1)
            return await self._exchange(command, timeout)

    def on_final(self, final: Final) -> bool:
        """Hand a final code to the command it ends; False when nothing accounts for it."""
        in_flight = self.in_flight
        if in_flight is not None:
            in_flight.push(final)
            if self._abandoned is not None and self._abandoned[0] is in_flight:
                self._abandoned = None  # the cancelled command's final: it is over
                self.in_flight = None
            return True
        if self._owed_finals:
            self._owed_finals -= 1
            log.info("late %s of a timed-out command dropped", final.kind.value)
            return True
        return False

    def on_prompt(self, prompt: Prompt) -> None:
        if self.in_flight is not None:
            self.in_flight.push(prompt)

    def fail(self, error: Nm28Error) -> None:
        """The command in flight cannot complete (reboot, port lost, modem closed)."""
        if self.in_flight is not None:
            self.in_flight.fail(error)

    async def _exchange(self, command: Command, timeout: float) -> list[ResultLine | TextLine]:
        """Write the command (and its payload after the prompt); return at its final code."""
        in_flight = InFlight(command)
        self.in_flight = in_flight
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        # A timer rather than a cancel scope: this is every command's hot path (benchmarks/).
        timer = loop.call_at(deadline, in_flight.expire)
        payload_written = abandoned = False
        try:
            await self._write(command.line, command.log_text, deadline)
            signal = await in_flight.next_signal()
            if command.payload is not None and isinstance(signal, Prompt):
                payload_written = True
                size = len(command.payload)
                await self._write(command.payload, f"<payload {size} bytes>", deadline)
                signal = await in_flight.next_signal()
            while isinstance(signal, Prompt):
                signal = await in_flight.next_signal()
        except TimeoutError:
            self._owed_finals += 1
            raise Nm28TimeoutError(
                f"{command.log_text}: no final result code within {timeout:g} s"
            ) from None
        except anyio.get_cancelled_exc_class():
            # The command is on the wire and its final code is still to come: keep it in
            # flight so that final is not taken for the next command's (_settle_abandoned).
            if self._closed() is None:
                self._abandoned = (in_flight, deadline, payload_written)
                abandoned = True
            raise
        finally:
            timer.cancel()
            if not abandoned:
                self.in_flight = None
        if not signal.ok:
            raise CommandError(command.log_text, signal)
        return in_flight.lines

    async def _settle_abandoned(self) -> None:
        """Wait, until its own deadline, for the final code of a command whose caller was
        cancelled (writing its payload if the prompt came); the channel lock is held."""
        assert self._abandoned is not None
        in_flight, deadline, payload_written = self._abandoned
        self._abandoned = None
        command = in_flight.command
        abandoned = False
        try:
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())) as scope:
                signal = await in_flight.next_signal()
                while isinstance(signal, Prompt):
                    if command.payload is not None and not payload_written:
                        payload_written = True
                        size = len(command.payload)
                        await self._write(command.payload, f"<payload {size} bytes>")
                    signal = await in_flight.next_signal()
            if scope.cancelled_caught:
                self._owed_finals += 1
        except ModuleRebootedError:
            pass  # nothing more will come for it; the reboot handling resynchronises
        except anyio.get_cancelled_exc_class():
            if self._closed() is None:  # this caller was cancelled too: the next one settles it
                self._abandoned = (in_flight, deadline, payload_written)
                abandoned = True
            raise
        finally:
            if not abandoned:
                self.in_flight = None

    async def _probe(self, attempts: int) -> None:
        """Resynchronise: send AT and absorb every late final owed by timed-out commands."""
        probe = commands.raw("AT")
        for attempt in range(1, attempts + 1):
            expected = self._owed_finals + 1
            in_flight = InFlight(probe)
            self.in_flight = in_flight
            try:
                with anyio.fail_after(min(self.command_timeout, 1.0 * attempt)):
                    await self._write(probe.line, probe.log_text)
                    await in_flight.next_signal()
                for _ in range(expected - 1):
                    with anyio.move_on_after(_QUIET_AFTER_PROBE):
                        await in_flight.next_signal()
                self._owed_finals = 0
                return
            except TimeoutError:
                self._owed_finals += 1
            finally:
                self.in_flight = None
        raise Nm28TimeoutError(f"the module did not answer AT ({attempts} attempts)")

    async def synchronise(self, attempts: int) -> None:
        """Start-up: AT until answered, then echo off."""
        async with self._lock:
            await self._resynchronise(attempts)

    async def _resynchronise(self, attempts: int = 5) -> None:
        """AT until answered, then echo off; the channel lock is held by the caller."""
        await self._probe(attempts)
        try:
            await self._exchange(commands.raw("ATE0"), self.command_timeout)
        except CommandError as exc:
            # Echo stays on: the parser recognises echoed command lines and drops them.
            log.warning("the module refused to turn echo off (%s); echoes will be dropped", exc)
        self.needs_sync = False
        log.info("synchronised with the module on %s", self.port)

    async def _write(self, data: bytes, log_text: str, deadline: float | None = None) -> None:
        """Write; wait for the port to take what it could not take at once, up to `deadline`."""
        error = self._closed()
        if error is not None:
            raise error
        if wire.isEnabledFor(logging.DEBUG):
            wire.debug("TX %s", log_text)
        try:
            self._writer.write(data)
            if self._writer.buffered:
                async with asyncio.timeout_at(deadline):
                    await self._writer.drain()
        except (OSError, RuntimeError) as exc:
            lost = PortLostError(f"write to {self.port} failed: {exc}")
            self._lost(lost)
            raise lost from exc
