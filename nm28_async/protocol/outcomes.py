"""What the conversation tells its engine: the ends of commands, and what no command claimed.

Values of their own, so that the book of owed results, the synchroniser and the conversation
share them without importing one another.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

from .events import Final, Garbage, Message, RecvNotice, ResultLine, TextLine
from .results import Answer


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
