"""Result lines as typed answers, and the `AT+MQTTCFG?` block as configurations.

A command's result line (`+MQTTSUB: 0,1,0,1`) becomes an answer with named fields, keyed by
command name, client index and (SUB, UNS, PUBEX) message id. The field count tells a result
from a query answer of the same name (`+MQTTOPEN: 0,0` against `+MQTTOPEN: 0,"host",1883`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .codes import PacketResult
from .commands import ResultKey
from .events import ResultLine, TextLine


@dataclass(frozen=True, slots=True)
class OpenAnswer:
    """`+MQTTOPEN: <idx>,<result>` (`codes.OpenResult`)."""

    client_index: int
    result: int

    @property
    def key(self) -> ResultKey:
        return ResultKey("MQTTOPEN", self.client_index)


@dataclass(frozen=True, slots=True)
class CloseAnswer:
    """`+MQTTCLOSE: <idx>,<result>` (`codes.CloseResult`)."""

    client_index: int
    result: int

    @property
    def key(self) -> ResultKey:
        return ResultKey("MQTTCLOSE", self.client_index)


@dataclass(frozen=True, slots=True)
class ConnectAnswer:
    """`+MQTTCONN: <idx>,<result>,<ret_code>`: how CONNECT fared, and the CONNACK code.

    Result 1 is a retransmission notice, and then `ret_code` counts the retries."""

    client_index: int
    result: int
    ret_code: int

    @property
    def key(self) -> ResultKey:
        return ResultKey("MQTTCONN", self.client_index)


@dataclass(frozen=True, slots=True)
class DisconnectAnswer:
    """`+MQTTDISC: <idx>,<result>` (`codes.CloseResult`)."""

    client_index: int
    result: int

    @property
    def key(self) -> ResultKey:
        return ResultKey("MQTTDISC", self.client_index)


@dataclass(frozen=True, slots=True)
class SubscribeAnswer:
    """`+MQTTSUB: <idx>,<msgID>,<result>[,<value>]`: value is the granted QoS (result 0)
    or the retry count (result 1)."""

    client_index: int
    msg_id: int
    result: int
    value: int | None

    @property
    def key(self) -> ResultKey:
        return ResultKey("MQTTSUB", self.client_index, self.msg_id)


@dataclass(frozen=True, slots=True)
class UnsubscribeAnswer:
    """`+MQTTUNS: <idx>,<msgID>,<result>[,<value>]`."""

    client_index: int
    msg_id: int
    result: int
    value: int | None

    @property
    def key(self) -> ResultKey:
        return ResultKey("MQTTUNS", self.client_index, self.msg_id)


@dataclass(frozen=True, slots=True)
class PublishAnswer:
    """`+MQTTPUBEX: <idx>,<msgID>[,<result0>][,<result1>][,<value>]`: one result per message
    published (two for OneNet type 2), `codes.PublishResult`."""

    client_index: int
    msg_id: int
    results: tuple[int, ...]

    @property
    def key(self) -> ResultKey:
        return ResultKey("MQTTPUBEX", self.client_index, self.msg_id)


@dataclass(frozen=True, slots=True)
class CtwingVersionAnswer:
    """`+CTWINGPOSTVER: <result>` (`codes.PublishResult`); it names no client index."""

    result: int

    @property
    def key(self) -> ResultKey:
        return ResultKey("CTWINGPOSTVER")


Answer = (
    OpenAnswer
    | CloseAnswer
    | ConnectAnswer
    | DisconnectAnswer
    | SubscribeAnswer
    | UnsubscribeAnswer
    | PublishAnswer
    | CtwingVersionAnswer
)


def _optional(fields: tuple[int, ...], at: int) -> int | None:
    return fields[at] if len(fields) > at else None


# name -> (field counts of a result, not of a query answer; how to build the answer)
_SHAPES: dict[str, tuple[range, Callable[[tuple[int, ...]], Answer]]] = {
    "MQTTOPEN": (range(2, 3), lambda f: OpenAnswer(f[0], f[1])),
    "MQTTCLOSE": (range(2, 3), lambda f: CloseAnswer(f[0], f[1])),
    "MQTTCONN": (range(3, 4), lambda f: ConnectAnswer(f[0], f[1], f[2])),
    "MQTTDISC": (range(2, 3), lambda f: DisconnectAnswer(f[0], f[1])),
    "MQTTSUB": (range(3, 5), lambda f: SubscribeAnswer(f[0], f[1], f[2], _optional(f, 3))),
    "MQTTUNS": (range(3, 5), lambda f: UnsubscribeAnswer(f[0], f[1], f[2], _optional(f, 3))),
    "MQTTPUBEX": (range(2, 6), lambda f: PublishAnswer(f[0], f[1], f[2:4])),
    "CTWINGPOSTVER": (range(1, 2), lambda f: CtwingVersionAnswer(f[0])),
}
_INTEGER = re.compile(r"-?\d{1,9}")


def parse_answer(line: ResultLine) -> Answer | None:
    """The typed answer this line is, or None if it completes no command (a query answer,
    a test command's ranges, an unknown URC, a number too long to be one)."""
    shape = _SHAPES.get(line.name)
    if shape is None or len(line.fields) not in shape[0]:
        return None
    if not all(_INTEGER.fullmatch(f) for f in line.fields):
        return None
    return shape[1](tuple(int(f) for f in line.fields))


def is_progress(answer: Answer) -> bool:
    """A retransmission notice (result 1 of CONN, SUB, UNS, PUBEX) is progress, not the end."""
    if isinstance(answer, ConnectAnswer | SubscribeAnswer | UnsubscribeAnswer):
        return answer.result == PacketResult.RETRANSMITTING
    if isinstance(answer, PublishAnswer):
        return answer.results[:1] == (PacketResult.RETRANSMITTING,)
    return False


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """One client's block of the `AT+MQTTCFG?` answer."""

    client_index: int
    version: int | None = None
    pdpcid: int | None = None
    ssl_enabled: bool | None = None
    ssl_ctx: int | None = None
    keepalive: int | None = None
    clean_session: bool | None = None
    pkt_timeout: int | None = None
    retries: int | None = None
    timeout_notice: bool | None = None
    will_enabled: bool | None = None
    will_qos: int | None = None
    will_retain: bool | None = None
    will_topic: str | None = None
    will_message: str | None = None
    payload_in_urc: bool | None = None
    length_field: bool | None = None
    product_key: str | None = None
    device_name: str | None = None
    device_secret: str | None = field(default=None, repr=False)


_PAIR = re.compile(r'([A-Za-z_]+)\s*:\s*(?:"([^"]*)"|([^\s"]+))')
_INT_KEYS = {
    "version": "version",
    "pdpcid": "pdpcid",
    "ssictx_id": "ssl_ctx",
    "sslctx_id": "ssl_ctx",
    "keepalive": "keepalive",
    "pkt_timeout": "pkt_timeout",
    "retry_time": "retries",
    "will_qos": "will_qos",
}
_BOOL_KEYS = {
    "sslenable": "ssl_enabled",
    "session": "clean_session",
    "timeout_notice": "timeout_notice",
    "will_fg": "will_enabled",
    "will_retain": "will_retain",
    "msg_len_enable": "length_field",
}
_STR_KEYS = {
    "will_topic": "will_topic",
    "will_msg": "will_message",
    "product_key": "product_key",
    "device_name": "device_name",
    "device_secret": "device_secret",
}


def parse_config_block(lines: Iterable[ResultLine | TextLine]) -> dict[int, ClientConfig]:
    """Parse the multi-line `AT+MQTTCFG?` answer into one ClientConfig per client index."""
    configs: dict[int, ClientConfig] = {}
    values: dict[str, object] | None = None
    for line in lines:
        if isinstance(line, ResultLine):
            if line.name != "MQTTCFG" or not line.fields or not line.fields[0].isdigit():
                continue
            values = {"client_index": int(line.fields[0])}
            configs[int(line.fields[0])] = ClientConfig(int(line.fields[0]))
            continue
        if values is None:
            continue
        for key, quoted, bare in _PAIR.findall(line.text):
            _store(values, key.lower(), quoted if quoted or not bare else bare)
        index = values["client_index"]
        assert isinstance(index, int)
        configs[index] = ClientConfig(**values)  # type: ignore[arg-type]
    return configs


def _store(values: dict[str, object], key: str, text: str) -> None:
    try:
        if key in _INT_KEYS:
            values[_INT_KEYS[key]] = int(text)
        elif key in _BOOL_KEYS:
            values[_BOOL_KEYS[key]] = int(text) != 0
        elif key == "msg_rcv_mode":
            values["payload_in_urc"] = int(text) == 0
        elif key in _STR_KEYS:
            values[_STR_KEYS[key]] = text
    except ValueError:
        return
