"""The AT channel's bookkeeping: the command in flight and the result lines awaited after it."""

from __future__ import annotations

import asyncio
from collections import deque

from .errors import Nm28Error
from .protocol.commands import Command, ResultKey
from .protocol.events import Final, Prompt, ResultLine, TextLine


class InFlight:
    """The one command on the wire: it collects its information lines and its final code."""

    def __init__(self, command: Command, collect_name: str | None) -> None:
        self.command = command
        self.collect_name = collect_name
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


def command_name(line: bytes) -> str | None:
    """`AT+CSQ` -> `CSQ`, `AT+MQTTCFG?` -> `MQTTCFG`; None for basic commands such as `ATI`."""
    text = line.decode("utf-8", "replace")
    if len(text) < 4 or text[2] != "+":
        return None
    end = 3
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    return text[3:end].upper()
