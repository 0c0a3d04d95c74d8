"""What result lines mean: which command they complete, whether they are final, the codes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .codes import PacketResult
from .commands import ResultKey
from .events import ResultLine, TextLine
from .parser import split_fields

# Result lines that complete a command: name -> (field count range, keyed by msg id).
# Query answers of the same name have another field count (+MQTTOPEN: idx,"host",port).
_RESULT_SHAPES: dict[str, tuple[range, bool]] = {
    "MQTTOPEN": (range(2, 3), False),
    "MQTTCLOSE": (range(2, 3), False),
    "MQTTCONN": (range(3, 4), False),
    "MQTTDISC": (range(2, 3), False),
    "MQTTSUB": (range(3, 5), True),
    "MQTTUNS": (range(3, 5), True),
    "MQTTPUBEX": (range(2, 6), True),
    "CTWINGPOSTVER": (range(1, 2), False),
}


def result_key(line: ResultLine) -> ResultKey | None:
    """The key of the command this line would complete, or None if it cannot complete one."""
    shape = _RESULT_SHAPES.get(line.name)
    if shape is None or len(line.fields) not in shape[0]:
        return None
    if line.name == "CTWINGPOSTVER":
        return ResultKey(line.name)
    try:
        numbers = [int(f) for f in line.fields]
    except ValueError:
        return None
    return ResultKey(line.name, numbers[0], numbers[1] if shape[1] else None)


_SET_COMMAND = re.compile(r"AT\+([A-Za-z0-9_]+)=(?!\?)(.*)", re.DOTALL | re.IGNORECASE)


def command_result_key(line: str) -> ResultKey | None:
    """The key of the result line a raw set command awaits (`AT+MQTTSUB=0,7,"t",1` -> MQTTSUB,
    client 0, msg id 7), for commands typed by hand. None for queries, tests, commands that
    have no result line, and arguments that name no index (or msg id) as numbers: then the
    module's final code is all the answer there is."""
    m = _SET_COMMAND.fullmatch(line.strip())
    shape = _RESULT_SHAPES.get(m.group(1).upper()) if m else None
    if m is None or shape is None:
        return None
    name = m.group(1).upper()
    if name == "CTWINGPOSTVER":
        return ResultKey(name)
    fields = split_fields(m.group(2))
    try:
        return ResultKey(name, int(fields[0]), int(fields[1]) if shape[1] else None)
    except (IndexError, ValueError):
        return None


def int_fields(line: ResultLine) -> tuple[int, ...]:
    """All fields as ints (result lines carry only numbers)."""
    return tuple(int(f) for f in line.fields)


def is_progress(line: ResultLine) -> bool:
    """A retransmission notice (result 1 of CONN/SUB/UNS) is progress, not the end."""
    fields = int_fields(line)
    if line.name == "MQTTCONN":
        return len(fields) >= 2 and fields[1] == PacketResult.RETRANSMITTING
    if line.name in ("MQTTSUB", "MQTTUNS"):
        return fields[2] == PacketResult.RETRANSMITTING
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
