"""What a command handler returns: the lines to print and what the module does next.

Handlers decide, the interpreter acts: a handler never writes to the host or sleeps, it returns
a :data:`Reply` (lines now, a network operation whose result lines go around ``OK``, or the
PUBEX prompt) and perhaps an :data:`Effect` (URCs of a radio change, a registration due later,
a reset). So the logic is testable without a port, and every byte leaves at one edge.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from .at_syntax import AtLine

Operation = Callable[[], Awaitable[list[str]]]
"""A network-bound step: awaited, it gives the command's result line(s)."""


def frame(*lines: str | bytes) -> bytes:
    """``\\r\\n<line>\\r\\n`` for each line, as one write so nothing interleaves inside."""
    return b"".join(b"\r\n" + (x.encode() if isinstance(x, str) else x) + b"\r\n" for x in lines)


def result_line(name: str, *fields: int, spaced: bool) -> str:
    """A result line as the manual's session prints it (``+MQTTOPEN:0,0``), or with a space
    after the colon (``spaced``)."""
    colon = ": " if spaced else ":"
    return f"+{name}{colon}{','.join(str(int(f)) for f in fields)}"


@dataclass(frozen=True, slots=True)
class Change:
    """What a radio transition did: the URCs it prints, and whether the data path (the PDP
    context) went away under the MQTT links, which then drop as on a broker loss."""

    urcs: tuple[str, ...] = ()
    data_lost: bool = False


@dataclass(frozen=True, slots=True)
class Later:
    """A transition due ``delay`` seconds from now (registering after ``AT+CFUN=1``)."""

    delay: float
    transition: Callable[[], Change]


@dataclass(frozen=True, slots=True)
class Reset:
    """Reset the module once the answer is out (``AT+CFUN=1,1``), as the reboot fault does."""


Effect = Change | Later | Reset


@dataclass(frozen=True, slots=True)
class Answer:
    """Lines printed at once, final code included; then the effects, in order."""

    lines: tuple[str, ...]
    then: tuple[Effect, ...] = ()


@dataclass(frozen=True, slots=True)
class Deferred:
    """A command with a result line: ``OK`` and the lines of ``operation`` in the order the
    knobs say. ``over_network`` False for a refusal decided locally (no network latency)."""

    operation: Operation
    over_network: bool = True


@dataclass(frozen=True, slots=True)
class Publication:
    """An ``AT+MQTTPUBEX`` whose arguments were accepted and whose payload is awaited."""

    idx: int
    msg_id: int
    qos: int
    retain: bool
    kind: int
    topic: str
    length: int


@dataclass(frozen=True, slots=True)
class Prompt:
    """Print the PUBEX prompt and read ``publication.length`` bytes in data mode."""

    publication: Publication


Reply = Answer | Deferred | Prompt
Handler = Callable[[AtLine], Reply]
Table = Mapping[str, Handler]
"""Handlers by :attr:`AtLine.head` (``AT+MQTTOPEN=``, ``AT+CEREG?``, ``ATE``)."""

OK = Answer(("OK",))


def fixed(*lines: str) -> Handler:
    """A handler that always answers ``lines`` and ``OK`` (a test form's ranges, identity)."""
    answer = Answer((*lines, "OK"))
    return lambda _cmd: answer


def refusal(*lines: str) -> Deferred:
    """Result lines decided without the network: placed like any result, never delayed."""

    async def operation() -> list[str]:
        return list(lines)

    return Deferred(operation, over_network=False)
