"""Where the module's unsolicited output goes: six client queues, the URC stream and the
listeners that want to hear of a URC, a stray final code or a reboot as it happens."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

from ..errors import ModemClosedError, Nm28Error
from ..overflow import Overflow
from ..protocol import limits
from ..protocol.events import Final, Message, Urc
from .queues import MessageQueue, deliver

log = logging.getLogger("nm28_async")

T = TypeVar("T")


class Listeners(Generic[T]):
    """Callbacks run in the reader's turn: each must be quick; one that raises is logged and
    the others still run."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[T], None]] = []

    def add(self, callback: Callable[[T], None]) -> Callable[[], None]:
        """Returns a function that removes it."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    def notify(self, item: T) -> None:
        for callback in list(self._callbacks):
            try:
                callback(item)
            except Exception:
                log.exception("listener %r failed", callback)


class Inbox:
    """Bounded queues the reader puts into without ever waiting (overflow is a policy)."""

    def __init__(self, queue_size: int, overflow: Overflow) -> None:
        self.queues = tuple(
            MessageQueue[Message](queue_size, overflow) for _ in limits.CLIENT_INDEXES
        )
        self._urcs: MessageQueue[Urc] = MessageQueue(queue_size, Overflow.DROP_OLDEST)
        self.urc_listeners = Listeners[Urc]()
        self.final_listeners = Listeners[Final]()
        """Final codes no command accounts for."""
        self.reboot_listeners = Listeners[Urc]()
        """The module restarted (the banner it printed): the layers above forget its state."""

    def urcs(self) -> AsyncIterator[Urc]:
        return self._urcs.items()

    def deliver(self, messages: list[Message]) -> None:
        deliver(self.queues, messages)

    def unsolicited(self, urc: Urc) -> None:
        self._urcs.put_nowait(urc)
        self.urc_listeners.notify(urc)

    def rebooted(self, banner: Urc) -> None:
        self.reboot_listeners.notify(banner)
        self.unsolicited(banner)

    def close(self, error: Nm28Error) -> None:
        """End every iterator: quietly when the modem was closed, with `error` otherwise."""
        iterator_error = None if isinstance(error, ModemClosedError) else error
        for queue in self.queues:
            queue.close(iterator_error)
        self._urcs.close(iterator_error)
