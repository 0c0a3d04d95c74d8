"""Command encoders: exact bytes, every range boundary, AT injection, topic rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from nm28_async.protocol import commands as c
from nm28_async.protocol.commands import Command, ResultKey

PASSWORD = "LB-LoWsiCJI1txEujy4ZQLbbmssx2G5YdkMAUYv5yVo"

EXACT: list[tuple[Command, bytes, ResultKey | None]] = [
    # The manual's section 2.1 lines.
    (
        c.open_network(0, "mqtt.ctwing.cn", 1883),
        b'AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883\r',
        ResultKey("MQTTOPEN", 0),
    ),
    (
        c.connect(0, "1701491811", "15312630", PASSWORD),
        b'AT+MQTTCONN=0,"1701491811","15312630","' + PASSWORD.encode() + b'"\r',
        ResultKey("MQTTCONN", 0),
    ),
    (
        c.subscribe(0, 1, "data_report", 1),
        b'AT+MQTTSUB=0,1,"data_report",1\r',
        ResultKey("MQTTSUB", 0, 1),
    ),
    (
        c.publish(0, 1, "data_report", '{"water_flow":1}', qos=1, retain=True),
        b'AT+MQTTPUBEX=0,1,1,1,0,"data_report",16\r',
        ResultKey("MQTTPUBEX", 0, 1),
    ),
    (c.disconnect(0), b"AT+MQTTDISC=0\r", ResultKey("MQTTDISC", 0)),
    (c.close_network(0), b"AT+MQTTCLOSE=0\r", ResultKey("MQTTCLOSE", 0)),
    # The rest of the command set.
    (
        c.unsubscribe(2, 65535, "a/+/c"),
        b'AT+MQTTUNS=2,65535,"a/+/c"\r',
        ResultKey("MQTTUNS", 2, 65535),
    ),
    (c.ctwing_post_version(5), b"AT+CTWINGPOSTVER=5\r", ResultKey("CTWINGPOSTVER")),
    (c.cfg_version(0, 4), b'AT+MQTTCFG="version",0,4\r', None),
    (c.cfg_version(1, 3), b'AT+MQTTCFG="version",1,3\r', None),
    (c.cfg_pdpcid(1, 16), b'AT+MQTTCFG="pdpcid",1,16\r', None),
    (c.cfg_ssl(2, True, 5), b'AT+MQTTCFG="ssl",2,1,5\r', None),
    (c.cfg_ssl(2, False), b'AT+MQTTCFG="ssl",2,0,0\r', None),
    (c.cfg_keepalive(3, 120), b'AT+MQTTCFG="keepalive",3,120\r', None),
    (c.cfg_session(4, True), b'AT+MQTTCFG="session",4,1\r', None),
    (c.cfg_session(4, False), b'AT+MQTTCFG="session",4,0\r', None),
    (c.cfg_timeout(0, 10), b'AT+MQTTCFG="timeout",0,10,3,0\r', None),
    (c.cfg_timeout(0, 60, 10, True), b'AT+MQTTCFG="timeout",0,60,10,1\r', None),
    (c.cfg_will(0, None), b'AT+MQTTCFG="will",0,0\r', None),
    (
        c.cfg_will(0, "dev/lwt", "gone", 1, True),
        b'AT+MQTTCFG="will",0,1,1,1,"dev/lwt","gone"\r',
        None,
    ),
    (c.cfg_will(0, "dev/lwt"), b'AT+MQTTCFG="will",0,1,0,0,"dev/lwt",""\r', None),
    (c.cfg_recv_mode(0), b'AT+MQTTCFG="recv/mode",0,0,1\r', None),
    (c.cfg_recv_mode(1, False, False), b'AT+MQTTCFG="recv/mode",1,1,0\r', None),
    (c.cfg_cached(5, True), b'AT+MQTTCFG="cached",5,1\r', None),
    (c.cfg_query(), b"AT+MQTTCFG?\r", None),
    (c.open_query(), b"AT+MQTTOPEN?\r", None),
    (c.connect_query(), b"AT+MQTTCONN?\r", None),
    (c.raw("AT+CSQ"), b"AT+CSQ\r", None),
    (c.raw('AT+CGDCONT=1,"IP","ctnb"'), b'AT+CGDCONT=1,"IP","ctnb"\r', None),
]


@pytest.mark.parametrize(("command", "line", "key"), EXACT, ids=[e[1].decode() for e in EXACT])
def test_exact_bytes(command: Command, line: bytes, key: ResultKey | None) -> None:
    """Each encoder builds the manual's line, CR-terminated, and names its result line."""
    assert command.line == line
    assert command.result == key


def test_publish_payload_and_ctrl_z() -> None:
    """The manual's publish: 16 payload bytes, then Ctrl-Z unless disabled."""
    cmd = c.publish(0, 1, "data_report", '{"water_flow":1}', qos=1, retain=True)
    assert cmd.payload == b'{"water_flow":1}\x1a'
    raw_cmd = c.publish(0, 1, "data_report", b'{"water_flow":1}', ctrl_z=False)
    assert raw_cmd.payload == b'{"water_flow":1}'
    assert raw_cmd.line == b'AT+MQTTPUBEX=0,1,0,0,0,"data_report",16\r'


def test_publish_length_counts_utf8_bytes() -> None:
    """A str payload is measured after UTF-8 encoding."""
    cmd = c.publish(0, 1, "t", "温度")
    assert cmd.line.endswith(b',"t",6\r')
    assert cmd.payload == "温度".encode() + b"\x1a"


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_publish_binary_payload_kinds(kind: Callable[[bytes], Any]) -> None:
    """bytes, bytearray and memoryview payloads, binary included (Ctrl-Z bytes too)."""
    data = bytes(range(256))
    cmd = c.publish(0, 1, "t", kind(data), ctrl_z=False)
    assert cmd.payload == data
    assert cmd.line.endswith(b",256\r")


@pytest.mark.parametrize(
    ("payload", "ok"),
    [
        (b"x", True),
        (b"x" * 2048, True),
        ("é" * 1024, True),  # 2048 bytes
        (b"", False),
        ("", False),
        (b"x" * 2049, False),
        ("é" * 1024 + "x", False),  # 2049 bytes but 1025 characters
        ("温" * 683, False),  # 2049 bytes
    ],
    ids=["1", "2048", "2048-utf8", "empty", "empty-str", "2049", "2049-utf8", "2049-cjk"],
)
def test_payload_size_bounds(payload: bytes | str, ok: bool) -> None:
    """Payload 1..2048 bytes, measured in UTF-8 bytes."""
    if ok:
        assert c.publish(0, 1, "t", payload).payload is not None
    else:
        with pytest.raises(ValueError, match="payload"):
            c.publish(0, 1, "t", payload)


def test_payload_of_wrong_type() -> None:
    """A payload that is neither bytes nor str is rejected."""
    with pytest.raises(ValueError, match="payload"):
        c.publish(0, 1, "t", 42)  # type: ignore[arg-type]


# --- ranges --------------------------------------------------------------------------------

Builder = Callable[[Any], Command]

RANGES: list[tuple[str, Builder, list[Any], list[Any]]] = [
    ("client_index", lambda v: c.close_network(v), [0, 5], [-1, 6]),
    ("msg_id", lambda v: c.subscribe(0, v, "t", 0), [1, 65535], [0, 65536]),
    ("msg_id", lambda v: c.unsubscribe(0, v, "t"), [1, 65535], [0, 65536]),
    ("msg_id", lambda v: c.publish(0, v, "t", "x"), [1, 65535], [0, 65536]),
    ("qos", lambda v: c.subscribe(0, 1, "t", v), [0, 2], [-1, 3]),
    ("qos", lambda v: c.publish(0, 1, "t", "x", qos=v), [0, 2], [-1, 3]),
    ("will qos", lambda v: c.cfg_will(0, "t", "m", qos=v), [0, 2], [-1, 3]),
    ("keepalive", lambda v: c.cfg_keepalive(0, v), [10, 290], [9, 291, 0]),
    ("port", lambda v: c.open_network(0, "h", v), [1, 65535], [0, 65536]),
    ("pdpcid", lambda v: c.cfg_pdpcid(0, v), [1, 16], [0, 17]),
    ("ssl_ctx", lambda v: c.cfg_ssl(0, True, v), [0, 5], [-1, 6]),
    ("pkt_timeout", lambda v: c.cfg_timeout(0, v), [1, 60], [0, 61]),
    ("retries", lambda v: c.cfg_timeout(0, 10, v), [0, 10], [-1, 11]),
    ("version", lambda v: c.cfg_version(0, v), [3, 4], [0, 2, 5]),
    ("publish_type", lambda v: c.publish(0, 1, "t", "x", publish_type=v), [0, 2], [-1, 3]),
]


@pytest.mark.parametrize(("name", "build", "good", "bad"), RANGES, ids=[r[0] for r in RANGES])
def test_range_boundaries(name: str, build: Builder, good: list[Any], bad: list[Any]) -> None:
    """The manual's bounds are accepted; one step outside raises ValueError naming the argument."""
    for value in good:
        assert str(value).encode() in build(value).line
    for value in bad:
        with pytest.raises(ValueError, match=re.escape(name)):
            build(value)
    for value in (True, False, 1.0, "1", None):
        with pytest.raises(ValueError, match=re.escape(name)):
            build(value)


INDEXED: list[Builder] = [
    lambda i: c.cfg_version(i, 4),
    lambda i: c.cfg_pdpcid(i, 1),
    lambda i: c.cfg_ssl(i, False),
    lambda i: c.cfg_keepalive(i, 60),
    lambda i: c.cfg_session(i, True),
    lambda i: c.cfg_timeout(i, 10),
    lambda i: c.cfg_will(i, None),
    lambda i: c.cfg_will(i, "t", "m"),
    lambda i: c.cfg_recv_mode(i),
    lambda i: c.cfg_cached(i, False),
    lambda i: c.open_network(i, "h", 1883),
    lambda i: c.close_network(i),
    lambda i: c.connect(i, "id", "u", "p"),
    lambda i: c.disconnect(i),
    lambda i: c.subscribe(i, 1, "t", 0),
    lambda i: c.unsubscribe(i, 1, "t"),
    lambda i: c.publish(i, 1, "t", "x"),
    lambda i: c.ctwing_post_version(i),
]


@pytest.mark.parametrize("build", INDEXED, ids=[str(i) for i in range(len(INDEXED))])
def test_every_encoder_checks_client_index(build: Builder) -> None:
    """Client index 0..5 everywhere; 6, -1 and bools rejected."""
    for index in range(6):
        assert re.search(rb"[=,]%d[,\r]" % index, build(index).line)
    for bad in (-1, 6, True):
        with pytest.raises(ValueError, match="client_index"):
            build(bad)


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("enabled", lambda v: c.cfg_ssl(0, v)),
        ("clean", lambda v: c.cfg_session(0, v)),
        ("notice", lambda v: c.cfg_timeout(0, 10, notice=v)),
        ("retain", lambda v: c.cfg_will(0, "t", retain=v)),
        ("payload_in_urc", lambda v: c.cfg_recv_mode(0, payload_in_urc=v)),
        ("length_field", lambda v: c.cfg_recv_mode(0, length_field=v)),
        ("enabled", lambda v: c.cfg_cached(0, v)),
        ("retain", lambda v: c.publish(0, 1, "t", "x", retain=v)),
        ("ctrl_z", lambda v: c.publish(0, 1, "t", "x", ctrl_z=v)),
    ],
)
def test_flags_must_be_bools(name: str, build: Builder) -> None:
    """Flag arguments take bools only; 1 or "1" is rejected with the argument's name."""
    build(True)
    build(False)
    for bad in (1, 0, "1", None):
        with pytest.raises(ValueError, match=re.escape(name)):
            build(bad)


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("a" * 127, True),
        ("é" * 63 + "a", True),  # 127 bytes
        ("10.0.0.1", True),
        ("a" * 128, False),
        ("é" * 64, False),  # 64 characters, 128 bytes
        ("", False),
    ],
    ids=["127", "127-utf8", "ip", "128", "128-utf8", "empty"],
)
def test_host_length(host: str, ok: bool) -> None:
    """Host name at most 127 bytes, not empty."""
    if ok:
        assert c.open_network(0, host, 1883).line.startswith(b'AT+MQTTOPEN=0,"')
    else:
        with pytest.raises(ValueError, match="host"):
            c.open_network(0, host, 1883)


# --- AT injection --------------------------------------------------------------------------

STRING_PARAMS: list[tuple[str, Callable[[str], Command]]] = [
    ("topic", lambda s: c.subscribe(0, 1, s, 0)),
    ("topic", lambda s: c.unsubscribe(0, 1, s)),
    ("topic", lambda s: c.publish(0, 1, s, "x")),
    ("topic", lambda s: c.cfg_will(0, s, "m")),
    ("will message", lambda s: c.cfg_will(0, "t", s)),
    ("client_id", lambda s: c.connect(0, s, "u", "p")),
    ("username", lambda s: c.connect(0, "id", s, "p")),
    ("password", lambda s: c.connect(0, "id", "u", s)),
    ("host", lambda s: c.open_network(0, s, 1883)),
]
INJECTIONS = {
    "quote": 'a"\r\nAT+MQTTCLOSE=0',
    "bare-quote": 'a",1',
    "cr": "a\rAT+MQTTCLOSE=0",
    "lf": "a\nAT+MQTTCLOSE=0",
    "nul": "a\x00b",
    "ctrl-z": "a\x1ab",
    "esc": "a\x1bb",
    "tab": "a\tb",
    "del": "a\x7fb",
}


@pytest.mark.parametrize("value", list(INJECTIONS.values()), ids=list(INJECTIONS))
@pytest.mark.parametrize(
    ("name", "build"), STRING_PARAMS, ids=[f"{p[0]}{i}" for i, p in enumerate(STRING_PARAMS)]
)
def test_injection_rejected(name: str, build: Callable[[str], Command], value: str) -> None:
    """Quotes and control bytes cannot get into any string argument."""
    with pytest.raises(ValueError, match=re.escape(name)) as info:
        build(value)
    assert "AT+MQTTCLOSE" not in str(info.value)  # the message does not echo the value


@pytest.mark.parametrize(
    ("name", "build"), STRING_PARAMS, ids=[f"{p[0]}{i}" for i, p in enumerate(STRING_PARAMS)]
)
def test_string_params_accept_plain_text(name: str, build: Callable[[str], Command]) -> None:
    """The same arguments take ordinary text, non-ASCII included, quoted on the wire."""
    assert b'"ab-c_1.\xc3\xa9"' in build("ab-c_1.é").line


@pytest.mark.parametrize("name", ["client_id", "username", "password"])
def test_non_str_rejected(name: str) -> None:
    """A non-str string argument is rejected by name."""
    args: dict[str, Any] = {"client_id": "i", "username": "u", "password": "p", name: b"x"}
    with pytest.raises(ValueError, match=name):
        c.connect(0, **args)


@pytest.mark.parametrize("value", ["AT\r\nAT+MQTTCLOSE=0", "AT\n", "AT\x00", "AT+X\x1a", "AT\x7f"])
def test_raw_rejects_control_bytes(value: str) -> None:
    """raw() refuses CR, LF, NUL, Ctrl-Z and other control bytes.

    Quotes stay allowed in raw(): AT+CGDCONT=1,"IP","apn" needs them and the caller writes
    the whole line (see test_exact_bytes).
    """
    with pytest.raises(ValueError, match="control character"):
        c.raw(value)


@pytest.mark.parametrize("value", ["", "MQTTOPEN?", "+CSQ", "A"])
def test_raw_must_start_with_at(value: str) -> None:
    """raw() only sends AT commands."""
    with pytest.raises(ValueError, match="AT"):
        c.raw(value)


def test_raw_rejects_non_str() -> None:
    """raw() refuses bytes."""
    with pytest.raises(ValueError, match="str"):
        c.raw(b"AT")  # type: ignore[arg-type]


# --- topic rules ---------------------------------------------------------------------------

FILTERS_OK = ["a", "a/b", "a/+/c", "+", "+/+", "#", "a/#", "+/#", "$SYS/#", "/", "a//b", "温度/+"]
FILTERS_BAD = ["a/#/b", "#/a", "a#", "a/b#", "a+", "a/+b", "a/b+/c", ""]
NAMES_BAD = ["a/+", "+", "#", "a/#", "a+b", "a#b", ""]


@pytest.mark.parametrize("topic", FILTERS_OK)
def test_subscribe_accepts_filters(topic: str) -> None:
    """Subscribe and unsubscribe take valid topic filters, wildcards included."""
    assert topic.encode() in c.subscribe(0, 1, topic, 0).line
    assert topic.encode() in c.unsubscribe(0, 1, topic).line


@pytest.mark.parametrize("topic", FILTERS_BAD)
def test_subscribe_rejects_bad_filters(topic: str) -> None:
    """`+` must fill a level, `#` must be the whole last level, no empty filter."""
    with pytest.raises(ValueError, match="topic"):
        c.subscribe(0, 1, topic, 0)
    with pytest.raises(ValueError, match="topic"):
        c.unsubscribe(0, 1, topic)


@pytest.mark.parametrize("topic", NAMES_BAD)
def test_publish_rejects_wildcards(topic: str) -> None:
    """Publish and will topics are names: no wildcards at all."""
    with pytest.raises(ValueError, match="topic"):
        c.publish(0, 1, topic, "x")
    with pytest.raises(ValueError, match="topic"):
        c.cfg_will(0, topic, "m")


@pytest.mark.parametrize("topic", ["a", "a/b/c", "$SYS/x", "/", "a//b", "温度"])
def test_publish_accepts_names(topic: str) -> None:
    """Plain topic names publish."""
    assert f'"{topic}"'.encode() in c.publish(0, 1, topic, "x").line
