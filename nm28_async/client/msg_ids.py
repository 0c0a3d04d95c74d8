"""Message ids of one client: 1..65535, none reused while its command is in flight."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import Nm28Error
from ..protocol import limits


class MsgIds:
    def __init__(self) -> None:
        self._next = 1
        self._in_flight: set[int] = set()

    @contextmanager
    def held(self) -> Iterator[int]:
        """A free id, held for the duration of one command."""
        msg_id = self._allocate()
        try:
            yield msg_id
        finally:
            self._in_flight.discard(msg_id)

    def _allocate(self) -> int:
        for _ in range(len(limits.MSG_IDS)):
            msg_id = self._next
            self._next = msg_id + 1 if msg_id < limits.MSG_IDS.stop - 1 else 1
            if msg_id not in self._in_flight:
                self._in_flight.add(msg_id)
                return msg_id
        raise Nm28Error("all 65535 message ids are in flight")
