"""The manual's result codes, numbered and explained once for the driver and the virtual NM28.

The driver turns a failure code into an error carrying its meaning; the virtual NM28 prints
the same numbers. Neither keeps a table of its own.
"""

from __future__ import annotations

import enum


class OpenResult(enum.IntEnum):
    """`<result>` of `+MQTTOPEN: <idx>,<result>`."""

    FAILED = -1
    OK = 0
    BAD_PARAMETER = 1
    IN_USE = 2
    PDP_FAILED = 3
    DNS_FAILED = 4
    CONNECT_FAILED = 5


class CloseResult(enum.IntEnum):
    """`<result>` of `+MQTTCLOSE`, and of `+MQTTDISC` (whose codes the manual does not list;
    its example prints 0, and related firmware -1 for a refusal)."""

    FAILED = -1
    OK = 0


class PacketResult(enum.IntEnum):
    """`<result>` of `+MQTTCONN`, `+MQTTSUB` and `+MQTTUNS`: how the packet fared."""

    ACKED = 0
    RETRANSMITTING = 1
    """Progress: the module is retransmitting; the final result follows."""
    SEND_FAILED = 2


class ConnackCode(enum.IntEnum):
    """`<ret_code>` of `+MQTTCONN`: the broker's CONNACK return code (MQTT 3.1.1)."""

    ACCEPTED = 0
    BAD_PROTOCOL_VERSION = 1
    IDENTIFIER_REJECTED = 2
    SERVER_UNAVAILABLE = 3
    BAD_CREDENTIALS = 4
    NOT_AUTHORISED = 5


class PublishResult(enum.IntEnum):
    """`<result0>`/`<result1>` of `+MQTTPUBEX` and `<result>` of `+CTWINGPOSTVER`."""

    FAILED = -1
    OK = 0


class LinkLost(enum.IntEnum):
    """`<code>` of `+MQTTSTAT: <idx>,<code>`, which some firmware prints when a broker link drops.

    The NM28 manual documents no such URC; the numbers are those of Quectel's `+QMTSTAT`.
    """

    CLOSED = 1
    """Closed or reset by the peer or the network."""
    KEEPALIVE = 2
    """No answer to PINGREQ within the keep-alive time."""


OPEN_RESULTS: dict[int, str] = {
    OpenResult.FAILED: "failed to open the network",
    OpenResult.OK: "network opened",
    OpenResult.BAD_PARAMETER: "bad parameter",
    OpenResult.IN_USE: "client index already in use",
    OpenResult.PDP_FAILED: "PDP activation failed",
    OpenResult.DNS_FAILED: "DNS resolution failed",
    OpenResult.CONNECT_FAILED: "network connection failed",
}
CLOSE_RESULTS: dict[int, str] = {
    CloseResult.FAILED: "failed to close the network",
    CloseResult.OK: "network closed",
}
DISCONNECT_RESULTS: dict[int, str] = {
    CloseResult.FAILED: "disconnect failed",
    CloseResult.OK: "disconnected",
}
PACKET_RESULTS: dict[int, str] = {
    PacketResult.ACKED: "sent and acknowledged",
    PacketResult.RETRANSMITTING: "retransmitting",
    PacketResult.SEND_FAILED: "send failed",
}
CONNACK_CODES: dict[int, str] = {
    ConnackCode.ACCEPTED: "connection accepted",
    ConnackCode.BAD_PROTOCOL_VERSION: "unacceptable protocol version",
    ConnackCode.IDENTIFIER_REJECTED: "identifier rejected / authentication failed",
    ConnackCode.SERVER_UNAVAILABLE: "server unavailable",
    ConnackCode.BAD_CREDENTIALS: "bad user name or password",
    ConnackCode.NOT_AUTHORISED: "not authorised",
}
PUBLISH_RESULTS: dict[int, str] = {
    PublishResult.OK: "sent and acknowledged",
    PublishResult.FAILED: "send failed",
}


def meaning(table: dict[int, str], code: int) -> str:
    """What `code` means in `table`, or says that the manual does not list it."""
    return table.get(code, f"unknown code {code}")
