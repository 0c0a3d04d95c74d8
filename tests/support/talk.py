"""A conversation on a fake clock: what the driver writes, what the module says, in memory."""

from __future__ import annotations

from nm28_async.protocol.commands import Command
from nm28_async.protocol.conversation import (
    QUIET_AFTER_PROBE,
    SYNCHRONISE,
    Completed,
    Conversation,
    ConversationEvent,
    Failed,
)
from nm28_async.protocol.events import Message

BANNERS = frozenset({"RDY", "+PBREADY"})
LOCAL = 5.0
NETWORK = 45.0


class Talk:
    """Drives one `Conversation` with a clock the test moves."""

    def __init__(self, *, synchronised: bool = True, probe_timeout: float = LOCAL) -> None:
        self.conversation = Conversation(probe_timeout=probe_timeout, reboot_banners=BANNERS)
        self.now = 0.0
        self._events: list[ConversationEvent | Message] = []
        if synchronised:
            handle = self.synchronise(probe_timeout)
            assert self.sent() == b"AT\r"
            self.module(b"\r\nOK\r\n")
            self.wait(QUIET_AFTER_PROBE)
            assert self.sent() == b"ATE0\r"
            self.module(b"\r\nOK\r\n")
            assert self.take() == [Completed(handle, (), None)]

    def synchronise(self, timeout: float) -> int:
        """Queue a resynchronisation, as the engine does at start-up."""
        return self.submit(SYNCHRONISE, local=timeout, network=timeout)

    def submit(self, command: Command, *, local: float = LOCAL, network: float = NETWORK) -> int:
        return self.conversation.submit(
            command, self.now, local_timeout=local, network_timeout=network
        )

    def module(self, data: bytes) -> None:
        """The module says `data`."""
        self.conversation.receive_data(data, self.now)

    def sent(self) -> bytes:
        """What the driver wrote since the last call."""
        return self.conversation.data_to_send()

    def wait(self, seconds: float) -> None:
        """Let time pass, firing the conversation's timer at each deadline on the way."""
        end = self.now + seconds
        while True:
            at = self.conversation.get_timer()
            if at is None or at > end:
                break
            self.now = max(self.now, at)
            self.conversation.handle_timer(self.now)
        self.now = end

    def take(self) -> list[ConversationEvent | Message]:
        """Messages, then other events, since the last call."""
        self._events += self.conversation.messages()
        self._events += self.conversation.events()
        events, self._events = self._events, []
        return events

    def outcome(self, handle: int) -> Completed | Failed | None:
        """The end of `handle` among the events so far (they stay to be taken)."""
        self._events += self.conversation.messages()
        self._events += self.conversation.events()
        for event in self._events:
            if isinstance(event, Completed | Failed) and event.handle == handle:
                return event
        return None
