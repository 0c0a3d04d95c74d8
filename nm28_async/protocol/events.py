"""What the module can say, as frozen values: the parser produces them, the engine routes them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

from .topics import topic_matches


class FinalKind(enum.Enum):
    OK = "OK"
    ERROR = "ERROR"
    CME_ERROR = "+CME ERROR"
    CMS_ERROR = "+CMS ERROR"


@dataclass(frozen=True, slots=True)
class Final:
    """A final result code: it ends the command that holds the AT channel."""

    kind: FinalKind
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.kind is FinalKind.OK

    def __str__(self) -> str:
        """As the module printed it (`+CME ERROR: 3`)."""
        return f"{self.kind.value}: {self.detail}" if self.detail else self.kind.value


@dataclass(frozen=True, slots=True)
class ResultLine:
    """A `+NAME: a,b,"c"` line: a command's result or information line, or a URC.

    `fields` holds each comma-separated value with spaces trimmed and quotes removed.
    """

    name: str
    fields: tuple[str, ...]
    raw: str

    @property
    def text(self) -> str:
        """The line as the module printed it (as `TextLine.text`)."""
        return self.raw


@dataclass(frozen=True, slots=True)
class TextLine:
    """Any other line: part of a multi-line answer (`AT+MQTTCFG?`) or an unknown URC/banner."""

    text: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """`CONNECT` (or `>`): the module now reads the publish payload."""


@dataclass(frozen=True, slots=True)
class Echo:
    """The module repeating a command line back (echo on)."""

    text: str


class Message(NamedTuple):
    """A message a subscription brought in (a `+MQTTRECV` with its payload).

    `topic` is the topic as the broker sent it: UTF-8, with any byte that is not valid
    UTF-8 kept as a surrogate escape, so that `topic_bytes` gives the exact bytes back.
    `length_mismatch` says the payload on the wire disagreed with its declared length
    (it is delivered whole, as protocol-decisions.md explains). A tuple, because one is
    built for every message the module delivers.
    """

    client_index: int
    packet_id: int
    topic: str
    payload: bytes
    length_mismatch: bool = False

    @property
    def topic_bytes(self) -> bytes:
        """The topic's bytes exactly as the module printed them."""
        return self.topic.encode("utf-8", "surrogateescape")

    def matches(self, topic_filter: str) -> bool:
        """Whether this message's topic matches an MQTT filter (`+`, `#`), as in aiomqtt."""
        return topic_matches(topic_filter, self.topic)


@dataclass(frozen=True, slots=True)
class RecvNotice:
    """`+MQTTRECV: <idx>,<id>,<topic>,<length>` without its payload (`msg_rcv_mode` 1): the
    module announces a message it keeps."""

    client_index: int
    packet_id: int
    topic: str
    length: int


@dataclass(frozen=True, slots=True)
class Garbage:
    """Bytes that form no valid line (binary noise, an overlong line, a malformed URC)."""

    data: bytes
    reason: str


Event = Final | ResultLine | TextLine | Prompt | Echo | Message | RecvNotice | Garbage

Urc = ResultLine | TextLine | RecvNotice | Message
"""What `urcs()` yields: lines no command claimed, and messages no client can take."""
