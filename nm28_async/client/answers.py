"""One table: for each MQTT command, the answer it must get and the error a failed one is.

The encoders (`protocol.commands`) build the command; this table judges its answer; the
client only chooses which row to use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..errors import (
    CloseError,
    ConnectError,
    CtwingVersionError,
    DisconnectError,
    OpenError,
    PublishError,
    ResultCodeError,
    SubscribeError,
    UnsubscribeError,
)
from ..protocol import limits
from ..protocol.codes import OpenResult
from ..protocol.results import (
    Answer,
    CloseAnswer,
    ConnectAnswer,
    CtwingVersionAnswer,
    DisconnectAnswer,
    OpenAnswer,
    PublishAnswer,
    SubscribeAnswer,
    UnsubscribeAnswer,
)

A = TypeVar("A", bound=Answer)


@dataclass(frozen=True, slots=True)
class Expected(Generic[A]):
    """The answer a command completes with, and the error its failure is (None: success)."""

    answer: type[A]
    failure: Callable[[int, A], ResultCodeError | None]


OPEN = Expected(
    OpenAnswer, lambda i, a: None if a.result == OpenResult.OK else OpenError(i, a.result)
)
CLOSE = Expected(CloseAnswer, lambda i, a: None if a.result == 0 else CloseError(i, a.result))
CONNECT = Expected(
    ConnectAnswer,
    lambda i, a: (
        None if a.result == 0 and a.ret_code == 0 else ConnectError(i, a.result, a.ret_code)
    ),
)
DISCONNECT = Expected(
    DisconnectAnswer, lambda i, a: None if a.result == 0 else DisconnectError(i, a.result)
)


def _subscribe_failure(index: int, answer: SubscribeAnswer) -> ResultCodeError | None:
    if answer.result != 0:
        return SubscribeError(index, answer.result)
    if answer.value is not None and answer.value not in limits.QOS_LEVELS:
        return SubscribeError(index, answer.value)  # the broker's 0x80 refusal
    return None


SUBSCRIBE = Expected(SubscribeAnswer, _subscribe_failure)
UNSUBSCRIBE = Expected(
    UnsubscribeAnswer, lambda i, a: None if a.result == 0 else UnsubscribeError(i, a.result)
)
PUBLISH = Expected(
    PublishAnswer,
    lambda i, a: next((PublishError(i, code) for code in a.results if code != 0), None),
)
CTWING_VERSION = Expected(
    CtwingVersionAnswer,
    lambda i, a: None if a.result == 0 else CtwingVersionError(i, a.result),
)
