"""The book of owed results: every command submitted and not yet ended, and what it owes.

The conversation decides what the module's lines mean; the book keeps the commands they may
belong to (queued, on the wire, or past `OK` and awaiting their result line), refuses a
second command awaiting the same result line, and ends each command once: a caller that
gave up hears nothing.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable

from .commands import Command, ResultKey
from .events import Final, ResultLine, TextLine
from .outcomes import Completed, ConversationEvent, Failed, Failure
from .results import Answer


class Stage(enum.Enum):
    QUEUED = "queued"
    PROMPT = "awaiting the prompt"
    FINAL = "awaiting the final code"
    RESULT = "awaiting the result line"


class Exchange:
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
        self.stage = Stage.QUEUED
        self.deadline = 0.0
        self.prompt_owed_until = 0.0
        self.lines: list[ResultLine | TextLine] = []
        self.answer: Answer | None = None
        self.result: ResultLine | None = None

    @property
    def final_timeout(self) -> float:
        """How long its final code may take once the command (or its payload) is written."""
        return self.network_timeout if self.command.network else self.local_timeout

    def await_prompt(self, now: float) -> None:
        """A publish's line is on the wire: its prompt is due, and owed even after that."""
        self.stage = Stage.PROMPT
        self.deadline = now + self.local_timeout
        self.prompt_owed_until = now + max(self.network_timeout, self.local_timeout)

    def await_final(self, now: float) -> None:
        self.stage = Stage.FINAL
        self.deadline = now + self.final_timeout

    def await_result(self, now: float) -> None:
        """`OK` came first: off the channel, since its broker may take a while."""
        self.stage = Stage.RESULT
        self.deadline = now + self.network_timeout


class Book:
    """The commands someone submitted, until each completes, fails or is cancelled."""

    def __init__(self, emit: Callable[[ConversationEvent], None]) -> None:
        self._emit = emit
        self._queue: deque[Exchange] = deque()
        self._live: dict[int, Exchange] = {}
        """The commands someone still waits for (not after cancel, nor after a timeout)."""
        self._keys: dict[ResultKey, Exchange] = {}
        self._next_handle = 1

    def submit(self, command: Command, *, local_timeout: float, network_timeout: float) -> int:
        """Queue a command and return its handle; it fails at once (`BUSY`) if another
        awaits the same result line, since that line could not be told apart."""
        handle = self._next_handle
        self._next_handle += 1
        exchange = Exchange(handle, command, local_timeout, network_timeout)
        key = command.result
        if key is not None and key in self._keys:
            self._emit(Failed(handle, Failure.BUSY, detail=_describe(key)))
            return handle
        if key is not None:
            self._keys[key] = exchange
        self._live[handle] = exchange
        self._queue.append(exchange)
        return handle

    def cancel(self, handle: int) -> bool:
        """Forget what `handle` owes its caller; True if it was still queued (and is now
        dropped, so the channel may move on)."""
        exchange = self._live.pop(handle, None)
        if exchange is None:
            return False
        self._release_key(exchange)
        if exchange.stage is Stage.QUEUED:
            self._queue.remove(exchange)
            return True
        return False

    @property
    def queued(self) -> bool:
        return bool(self._queue)

    @property
    def head(self) -> Exchange:
        """The queued command to be written next."""
        return self._queue[0]

    def pop_next(self) -> Exchange:
        return self._queue.popleft()

    @property
    def idle(self) -> bool:
        """Nobody waits for a command's end."""
        return not self._live

    def awaited(self, exchange: Exchange) -> bool:
        """Whether someone still waits for `exchange` (its caller neither gave up nor timed
        out)."""
        return exchange.handle in self._live

    def claimant(self, key: ResultKey) -> Exchange | None:
        """The written command a result line with `key` belongs to, if any."""
        exchange = self._keys.get(key)
        if exchange is None or exchange.stage is Stage.QUEUED:
            return None
        return exchange

    def in_flight(self) -> list[Exchange]:
        """The written commands still awaiting a result line (a copy: ending them edits the
        book)."""
        return [e for e in self._keys.values() if e.stage is not Stage.QUEUED]

    def deadline(self) -> float | None:
        """When the first result line awaited after `OK` is overdue."""
        if not self._keys:
            return None
        return min(
            (e.deadline for e in self._keys.values() if e.stage is Stage.RESULT), default=None
        )

    def expire(self, now: float) -> None:
        """Fail each command whose result line did not follow its `OK` in time."""
        for exchange in [e for e in self._keys.values() if e.stage is Stage.RESULT]:
            if now >= exchange.deadline:
                self.fail(
                    exchange,
                    Failure.NO_RESULT,
                    detail=f"no result line within {exchange.network_timeout:g} s",
                )

    def finish(self, exchange: Exchange) -> None:
        self._release_key(exchange)
        if self._live.pop(exchange.handle, None) is not None:
            lines = tuple(exchange.lines)
            self._emit(Completed(exchange.handle, lines, exchange.answer, exchange.result))

    def fail(
        self, exchange: Exchange, failure: Failure, final: Final | None = None, detail: str = ""
    ) -> None:
        self._release_key(exchange)
        if exchange.stage is Stage.QUEUED:
            self._queue.remove(exchange)
        if self._live.pop(exchange.handle, None) is not None:
            self._emit(Failed(exchange.handle, failure, final, detail))

    def _release_key(self, exchange: Exchange) -> None:
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
