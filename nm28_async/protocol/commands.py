"""AT command encoders: validate every argument, then build the bytes for the wire.

Nothing here performs I/O; an invalid argument raises ValueError before any byte exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from . import limits
from .redact import redact, secrets_in

_FORBIDDEN_IN_STRING = re.compile(r'["\x00-\x1f\x7f]')


@dataclass(frozen=True, slots=True)
class ResultKey:
    """Identifies the result line that completes a command: name, client index, message id."""

    name: str
    client_index: int | None = None
    msg_id: int | None = None


@dataclass(frozen=True, slots=True)
class Command:
    """One encoded command: the line to write, its loggable form, and the shape of its answer.

    `info` names the `+NAME:` lines that are its information lines (`AT+CSQ` -> `CSQ`);
    `text` says whether plain text lines belong to its answer too (`ATI`, the `AT+MQTTCFG?`
    block) or are URCs (the MQTT commands, which answer in result lines only); `result` keys
    the result line that completes it; `network` says its final code waits for the network
    in the manual's order, so a network deadline bounds it; `payload` follows the prompt.
    """

    line: bytes
    log_text: str
    info: str | None = None
    text: bool = True
    result: ResultKey | None = None
    network: bool = False
    payload: bytes | None = field(default=None, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """What its line carries that must never be logged (a password)."""

    def __repr__(self) -> str:
        size = "" if self.payload is None else f", payload={len(self.payload)} bytes"
        return f"Command({self.log_text!r}{size})"


# Commands whose set form waits for the broker (or DNS, TCP, TLS) in the manual's order.
NETWORK_COMMANDS = frozenset(
    {"MQTTOPEN", "MQTTCLOSE", "MQTTCONN", "MQTTDISC", "MQTTSUB", "MQTTUNS", "MQTTPUBEX"}
    | {"CTWINGPOSTVER"}
)
# Commands that answer in result lines only: a plain text line during one of them is a URC.
_RESULT_LINES_ONLY = NETWORK_COMMANDS | {"MQTTCFG"}


def _encoded(
    line: str,
    *,
    info: str | None = None,
    text: bool = True,
    result: ResultKey | None = None,
    network: bool = False,
    payload: bytes | None = None,
) -> Command:
    """A command line as written, as logged (redacted), and the secrets it carries."""
    return Command(
        line.encode("utf-8") + b"\r",
        redact(line),
        info=info,
        text=text,
        result=result,
        network=network,
        payload=payload,
        secrets=secrets_in(line),
    )


def _command(
    text: str,
    result: ResultKey | None = None,
    payload: bytes | None = None,
    *,
    query: bool = False,
) -> Command:
    """Encode `AT+<NAME>...`; a set command of the MQTT family answers in result lines only."""
    name = text[3:].partition("=")[0].partition("?")[0] if text.startswith("AT+") else None
    return _encoded(
        text,
        info=name,
        text=query or name not in _RESULT_LINES_ONLY,
        result=result,
        network=result is not None,
        payload=payload,
    )


def check_int(name: str, value: int, allowed: range | tuple[int, ...]) -> int:
    """Reject non-integers (bool included) and values outside the manual's range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {type(value).__name__}")
    if value not in allowed:
        raise ValueError(f"{name} must be in {_describe(allowed)}, got {value}")
    return value


def _describe(allowed: range | tuple[int, ...]) -> str:
    if isinstance(allowed, range):
        return f"{allowed.start}..{allowed.stop - 1}"
    return ", ".join(str(v) for v in allowed)


def check_duration(name: str, seconds: float | None, *, optional: bool = False) -> None:
    """A timeout or interval: a positive, finite number of seconds (0 is not "the default");
    None too where `optional` (then the default applies)."""
    if seconds is None and optional:
        return
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ValueError(f"{name} must be a number of seconds, got {type(seconds).__name__}")
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{name} must be a positive number of seconds, got {seconds}")


def check_index(client_index: int) -> int:
    return check_int("client_index", client_index, limits.CLIENT_INDEXES)


def check_string(name: str, value: str, *, max_bytes: int | None = None, empty: bool = True) -> str:
    """An AT string cannot carry quotes or control bytes: either would let it inject commands."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str, got {type(value).__name__}")
    bad = _FORBIDDEN_IN_STRING.search(value)
    if bad:
        raise ValueError(
            f"{name} contains {bad.group()!r} at position {bad.start()}: AT strings cannot hold"
            " quotes or control characters"
        )
    if not empty and not value:
        raise ValueError(f"{name} must not be empty")
    if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
        raise ValueError(f"{name} is longer than {max_bytes} bytes")
    return value


def check_topic(topic: str, *, wildcards: bool) -> str:
    """Validate an MQTT topic name (publish) or topic filter (subscribe)."""
    check_string("topic", topic, empty=False)
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if not wildcards and ("+" in level or "#" in level):
            raise ValueError(f"topic {topic!r}: wildcards '+' and '#' are only valid in filters")
        if "+" in level and level != "+":
            raise ValueError(f"topic filter {topic!r}: '+' must occupy a whole level")
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise ValueError(f"topic filter {topic!r}: '#' must be the whole last level")
    return topic


def as_payload(payload: bytes | bytearray | memoryview | str) -> bytes:
    """Payload bytes (str is UTF-8), checked against the manual's 1..2048 bytes."""
    if isinstance(payload, str):
        data = payload.encode("utf-8")
    elif isinstance(payload, bytes | bytearray | memoryview):
        data = bytes(payload)
    else:
        raise ValueError(f"payload must be bytes or str, got {type(payload).__name__}")
    if len(data) not in limits.PAYLOAD_BYTES:
        raise ValueError(
            f"payload must be {_describe(limits.PAYLOAD_BYTES)} bytes, got {len(data)} bytes"
        )
    return data


def _flag(value: bool, name: str = "flag") -> int:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a bool, got {type(value).__name__}")
    return int(value)


# --- AT+MQTTCFG --------------------------------------------------------------------------


def cfg_version(client_index: int, version: int) -> Command:
    check_index(client_index)
    check_int("version", version, limits.MQTT_VERSIONS)
    return _command(f'AT+MQTTCFG="version",{client_index},{version}')


def cfg_pdpcid(client_index: int, cid: int) -> Command:
    check_index(client_index)
    check_int("pdpcid", cid, limits.PDP_CIDS)
    return _command(f'AT+MQTTCFG="pdpcid",{client_index},{cid}')


def cfg_ssl(client_index: int, enabled: bool, ctx_id: int = 0) -> Command:
    check_index(client_index)
    check_int("ssl_ctx", ctx_id, limits.SSL_CONTEXTS)
    flag = _flag(enabled, "enabled")
    return _command(f'AT+MQTTCFG="ssl",{client_index},{flag},{ctx_id}')


def cfg_keepalive(client_index: int, seconds: int) -> Command:
    check_index(client_index)
    check_int("keepalive", seconds, limits.KEEPALIVE_SECONDS)
    return _command(f'AT+MQTTCFG="keepalive",{client_index},{seconds}')


def cfg_session(client_index: int, clean: bool) -> Command:
    check_index(client_index)
    flag = _flag(clean, "clean")
    return _command(f'AT+MQTTCFG="session",{client_index},{flag}')


def cfg_timeout(
    client_index: int, pkt_timeout: int, retries: int = 3, notice: bool = False
) -> Command:
    check_index(client_index)
    check_int("pkt_timeout", pkt_timeout, limits.PKT_TIMEOUT_SECONDS)
    check_int("retries", retries, limits.RETRY_COUNTS)
    flag = _flag(notice, "notice")
    return _command(f'AT+MQTTCFG="timeout",{client_index},{pkt_timeout},{retries},{flag}')


def cfg_will(
    client_index: int, topic: str | None, message: str = "", qos: int = 0, retain: bool = False
) -> Command:
    """Set the last will; `topic=None` clears it (will flag 0)."""
    check_index(client_index)
    if topic is None:
        return _command(f'AT+MQTTCFG="will",{client_index},0')
    check_topic(topic, wildcards=False)
    check_string("will message", message)
    check_int("will qos", qos, limits.QOS_LEVELS)
    flag = _flag(retain, "retain")
    return _command(f'AT+MQTTCFG="will",{client_index},1,{qos},{flag},"{topic}","{message}"')


def cfg_recv_mode(
    client_index: int, payload_in_urc: bool = True, length_field: bool = True
) -> Command:
    """msg_rcv_mode 0 puts the payload in the URC; msg_len_enable 1 adds the length field."""
    check_index(client_index)
    rcv_mode = 0 if _flag(payload_in_urc, "payload_in_urc") else 1
    flag = _flag(length_field, "length_field")
    return _command(f'AT+MQTTCFG="recv/mode",{client_index},{rcv_mode},{flag}')


def cfg_cached(client_index: int, enabled: bool) -> Command:
    check_index(client_index)
    flag = _flag(enabled, "enabled")
    return _command(f'AT+MQTTCFG="cached",{client_index},{flag}')


def cfg_query() -> Command:
    """The block of every client's settings, in text lines after each `+MQTTCFG: <idx>`."""
    return _command("AT+MQTTCFG?", query=True)


# --- network, session, subscriptions, publish ----------------------------------------------


def open_network(client_index: int, host: str, port: int) -> Command:
    check_index(client_index)
    check_string("host", host, max_bytes=limits.MAX_HOST_BYTES, empty=False)
    check_int("port", port, limits.PORTS)
    return _command(
        f'AT+MQTTOPEN={client_index},"{host}",{port}', ResultKey("MQTTOPEN", client_index)
    )


def open_query() -> Command:
    return _command("AT+MQTTOPEN?")


def close_network(client_index: int) -> Command:
    check_index(client_index)
    return _command(f"AT+MQTTCLOSE={client_index}", ResultKey("MQTTCLOSE", client_index))


def connect(client_index: int, client_id: str, username: str, password: str) -> Command:
    check_index(client_index)
    check_string("client_id", client_id)
    check_string("username", username)
    check_string("password", password)
    return _command(
        f'AT+MQTTCONN={client_index},"{client_id}","{username}","{password}"',
        ResultKey("MQTTCONN", client_index),
    )


def connect_query() -> Command:
    return _command("AT+MQTTCONN?")


def disconnect(client_index: int) -> Command:
    check_index(client_index)
    return _command(f"AT+MQTTDISC={client_index}", ResultKey("MQTTDISC", client_index))


def subscribe(client_index: int, msg_id: int, topic: str, qos: int) -> Command:
    check_index(client_index)
    check_int("msg_id", msg_id, limits.MSG_IDS)
    check_topic(topic, wildcards=True)
    check_int("qos", qos, limits.QOS_LEVELS)
    return _command(
        f'AT+MQTTSUB={client_index},{msg_id},"{topic}",{qos}',
        ResultKey("MQTTSUB", client_index, msg_id),
    )


def unsubscribe(client_index: int, msg_id: int, topic: str) -> Command:
    check_index(client_index)
    check_int("msg_id", msg_id, limits.MSG_IDS)
    check_topic(topic, wildcards=True)
    return _command(
        f'AT+MQTTUNS={client_index},{msg_id},"{topic}"', ResultKey("MQTTUNS", client_index, msg_id)
    )


def publish(
    client_index: int,
    msg_id: int,
    topic: str,
    payload: bytes | bytearray | memoryview | str,
    *,
    qos: int = 0,
    retain: bool = False,
    publish_type: int = 0,
    ctrl_z: bool = True,
) -> Command:
    """AT+MQTTPUBEX; the payload (plus Ctrl-Z unless disabled) is written after the prompt."""
    check_index(client_index)
    check_int("msg_id", msg_id, limits.MSG_IDS)
    check_int("qos", qos, limits.QOS_LEVELS)
    check_int("publish_type", publish_type, limits.PUBLISH_TYPES)
    check_topic(topic, wildcards=False)
    data = as_payload(payload)
    flag = _flag(retain, "retain")
    return _command(
        f'AT+MQTTPUBEX={client_index},{msg_id},{qos},{flag},{publish_type},"{topic}",{len(data)}',
        ResultKey("MQTTPUBEX", client_index, msg_id),
        data + limits.CTRL_Z if _flag(ctrl_z, "ctrl_z") else data,
    )


def ctwing_post_version(client_index: int) -> Command:
    check_index(client_index)
    return _command(f"AT+CTWINGPOSTVER={client_index}", ResultKey("CTWINGPOSTVER"))


_RAW_NAME = re.compile(r"AT\+([A-Za-z0-9_]+)(=\?|=|\?)?(.*)", re.IGNORECASE | re.DOTALL)
_KEYED_BY_MSG_ID = frozenset({"MQTTSUB", "MQTTUNS"})
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def raw(line: str) -> Command:
    """Any AT command the driver has no encoder for (AT+CSQ, ATI, ...).

    Its answer shape comes from its name: `AT+CSQ` collects `+CSQ:` lines; a set command of
    the MQTT family answers in result lines only, waits for the network, and awaits its
    result line when its arguments name the client (and message id) as numbers.
    `AT+MQTTPUBEX=` is refused: only `publish` writes a payload after the prompt.
    """
    if not isinstance(line, str):
        raise ValueError(f"command must be a str, got {type(line).__name__}")
    return _raw(line)


@lru_cache(maxsize=256)
def _raw(line: str) -> Command:
    """Check and encode a line; the same line is the same command (`modem.command` in a loop
    is encoded once; a refused line is refused each time)."""
    if not line[:2].upper() == "AT":
        raise ValueError("command must start with 'AT'")
    bad = _CONTROL_CHARACTER.search(line)
    if bad:
        raise ValueError(f"command contains control character {bad.group()!r}")
    m = _RAW_NAME.match(line)
    if m is None:  # ATI, AT&V...: text lines answer; AT, ATE0 answer with a final code only
        bare = line.upper() in ("AT", "ATE0", "ATE1")
        return _encoded(line, text=not bare)
    name, form = m.group(1).upper(), m.group(2)
    network = name in NETWORK_COMMANDS and form == "="
    if network and name == "MQTTPUBEX":
        raise ValueError(
            "AT+MQTTPUBEX needs its payload after the prompt: use client.publish() (or"
            " `nm28 at --payload`)"
        )
    return _encoded(
        line,
        info=name,
        text=name not in _RESULT_LINES_ONLY or (name == "MQTTCFG" and form == "?"),
        result=_raw_result_key(name, m.group(3)) if network else None,
        network=network,
    )


def _raw_result_key(name: str, arguments: str) -> ResultKey | None:
    """The result line a hand-typed set command awaits (`AT+MQTTSUB=0,7,"t",1` -> MQTTSUB,
    client 0, message id 7); None when its arguments do not name them as numbers (then the
    module's final code is all the answer there is)."""
    if name == "CTWINGPOSTVER":
        return ResultKey(name)
    fields = [field.strip() for field in arguments.split(",", 2)]
    numbers = [int(f) for f in fields[:2] if f.isdigit() and len(f) <= 5]
    if name in _KEYED_BY_MSG_ID:
        return ResultKey(name, *numbers) if len(numbers) == 2 else None
    named = fields[0].isdigit() and len(fields[0]) <= 5
    return ResultKey(name, int(fields[0])) if named else None
