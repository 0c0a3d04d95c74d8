"""Every error the driver raises derives from Nm28Error; result codes carry their meaning."""

from __future__ import annotations

from typing import ClassVar

from .protocol import codes
from .protocol.events import Final


class Nm28Error(Exception):
    """Base of every error raised by nm28_async."""


class CommandError(Nm28Error):
    """The module answered ERROR or +CME ERROR to a command."""

    def __init__(self, command: str, final: Final) -> None:
        self.command = command
        self.final = final
        super().__init__(f"{command} failed: {final}")

    @property
    def cme_error(self) -> str | None:
        return self.final.detail or None


class Nm28TimeoutError(Nm28Error, TimeoutError):
    """A command got no final code, or no result line, in time."""


class ResultCodeError(Nm28Error):
    """A result line reported a failure code the manual lists; `.code` and `.meaning` say which."""

    table: ClassVar[dict[int, str]] = {}
    operation: ClassVar[str] = "command"

    def __init__(self, client_index: int | None, code: int) -> None:
        self.client_index = client_index
        self.code = code
        self.meaning = codes.meaning(self.table, code)
        where = "" if client_index is None else f" on client {client_index}"
        super().__init__(f"{self.operation}{where} failed: result {code} ({self.meaning})")


class OpenError(ResultCodeError):
    table = codes.OPEN_RESULTS
    operation = "open"


class CloseError(ResultCodeError):
    table = codes.CLOSE_RESULTS
    operation = "close"


class ConnectError(ResultCodeError):
    """CONN failed: `code` is the send result, `ret_code` the broker's CONNACK code."""

    table = codes.PACKET_RESULTS
    operation = "connect"

    def __init__(self, client_index: int | None, code: int, ret_code: int | None = None) -> None:
        self.ret_code = ret_code
        super().__init__(client_index, code)
        if ret_code:
            self.meaning = codes.meaning(codes.CONNACK_CODES, ret_code)
            self.args = (
                f"connect on client {client_index} refused: ret_code {ret_code} ({self.meaning})",
            )


class DisconnectError(ResultCodeError):
    table = codes.DISCONNECT_RESULTS
    operation = "disconnect"


class SubscribeError(ResultCodeError):
    table = codes.PACKET_RESULTS
    operation = "subscribe"


class UnsubscribeError(ResultCodeError):
    table = codes.PACKET_RESULTS
    operation = "unsubscribe"


class PublishError(ResultCodeError):
    table = codes.PUBLISH_RESULTS
    operation = "publish"


class CtwingVersionError(ResultCodeError):
    table: ClassVar[dict[int, str]] = {-1: "firmware version report failed"}
    operation = "CTWing version report"


class ModemClosedError(Nm28Error):
    """The modem was closed while the call was pending, or before it was made."""


class PortLostError(Nm28Error):
    """The serial port or socket went away (USB unplugged, peer closed)."""


class ModuleRebootedError(Nm28Error):
    """The module rebooted: a command in flight when it did cannot complete."""


class QueueOverflowError(Nm28Error):
    """A client's message queue overflowed under the `Overflow.FAIL` policy."""


class OutboxError(Nm28Error):
    """The session's outbox cannot store or read what it holds (a corrupt or unreadable file,
    a full disk); the message names the file."""


class OutboxFullError(OutboxError):
    """The outbox is full (`Overflow.FAIL`), or too many publishes already wait for the
    link."""


class NotConnectedError(Nm28Error):
    """A fail-fast supervised publish was made while the link was down."""
