"""Parser: the manual's example lines, chunking invariance, +MQTTRECV framing, noise."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.chunking import (
    ERROR,
    OK,
    LengthModes,
    assert_chunking_invariant,
    feed_chunks,
    split_at,
)

from nm28_async.protocol.events import (
    Echo,
    Event,
    Final,
    FinalKind,
    Garbage,
    Message,
    Prompt,
    RecvNotice,
    ResultLine,
    TextLine,
)
from nm28_async.protocol.parser import MAX_LINE, MAX_RECV_LINE, MAX_RECV_PAYLOAD, Parser

# Most a parser may hold: a +MQTTRECV head line, its largest trusted payload, and an
# overlong tail after it.
BUFFER_BOUND = 2 * MAX_LINE + MAX_RECV_PAYLOAD + 2


def is_subsequence(needle: Sequence[Event], haystack: Sequence[Event]) -> bool:
    """True when `needle` appears in `haystack` in order (gaps allowed)."""
    it = iter(haystack)
    return all(any(e == h for h in it) for e in needle)


def test_is_subsequence_helper() -> None:
    """The helper used by the noise property can say no."""
    assert is_subsequence([OK, ERROR], [OK, Prompt(), ERROR])
    assert not is_subsequence([ERROR, OK], [OK, ERROR])


# --- the manual's lines --------------------------------------------------------------------

CONN_ECHO = 'AT+MQTTCONN=0,"1701491811","15312630","LB-LoWsiCJI1txEujy4ZQLbbmssx2G5YdkMAUYv5yVo"'

EXACT_LINES: list[tuple[bytes, Event]] = [
    (b"+MQTTOPEN:0,0", ResultLine("MQTTOPEN", ("0", "0"), "+MQTTOPEN:0,0")),
    (b"+MQTTOPEN: 0, 0", ResultLine("MQTTOPEN", ("0", "0"), "+MQTTOPEN: 0, 0")),
    (b"+MQTTOPEN: 3,-1", ResultLine("MQTTOPEN", ("3", "-1"), "+MQTTOPEN: 3,-1")),
    (
        b'+MQTTOPEN:0,"mqtt.ctwing.cn", 1883',
        ResultLine(
            "MQTTOPEN", ("0", "mqtt.ctwing.cn", "1883"), '+MQTTOPEN:0,"mqtt.ctwing.cn", 1883'
        ),
    ),
    (b"+MQTTCONN:0,0,0", ResultLine("MQTTCONN", ("0", "0", "0"), "+MQTTCONN:0,0,0")),
    (b"+MQTTCONN:0,1", ResultLine("MQTTCONN", ("0", "1"), "+MQTTCONN:0,1")),
    (b"+MQTTSUB:0,1,0,1", ResultLine("MQTTSUB", ("0", "1", "0", "1"), "+MQTTSUB:0,1,0,1")),
    (b"+MQTTUNS:0,2,0", ResultLine("MQTTUNS", ("0", "2", "0"), "+MQTTUNS:0,2,0")),
    (b"+MQTTPUBEX:0,1,0", ResultLine("MQTTPUBEX", ("0", "1", "0"), "+MQTTPUBEX:0,1,0")),
    (
        b"+MQTTPUBEX: 0, 1, 0, -1",
        ResultLine("MQTTPUBEX", ("0", "1", "0", "-1"), "+MQTTPUBEX: 0, 1, 0, -1"),
    ),
    (b"+MQTTDISC:0,0", ResultLine("MQTTDISC", ("0", "0"), "+MQTTDISC:0,0")),
    (b"+MQTTCLOSE:0,0", ResultLine("MQTTCLOSE", ("0", "0"), "+MQTTCLOSE:0,0")),
    (b"+MQTTCFG: 0", ResultLine("MQTTCFG", ("0",), "+MQTTCFG: 0")),
    (b"+MQTTCFG:", ResultLine("MQTTCFG", (), "+MQTTCFG:")),
    (b"+CTWINGPOSTVER: 0", ResultLine("CTWINGPOSTVER", ("0",), "+CTWINGPOSTVER: 0")),
    # The manual's typo form of the result line, with the AT prefix.
    (b"AT+CTWINGPOSTVER:0", ResultLine("CTWINGPOSTVER", ("0",), "AT+CTWINGPOSTVER:0")),
    (b"OK", OK),
    (b"ERROR", ERROR),
    (b"+CME ERROR: 50", Final(FinalKind.CME_ERROR, "50")),
    (b"+CME ERROR:3", Final(FinalKind.CME_ERROR, "3")),
    (
        b"+CME ERROR: operation not allowed",
        Final(FinalKind.CME_ERROR, "operation not allowed"),
    ),
    (b"+CMS ERROR: 500", Final(FinalKind.CMS_ERROR, "500")),
    (b"CONNECT", Prompt()),
    (b"CONNECT 115200", Prompt()),
    (b">", Prompt()),
    (b'AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883', Echo('AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883')),
    (CONN_ECHO.encode(), Echo(CONN_ECHO)),
    (b'AT+MQTTSUB=0,1,"data_report",1', Echo('AT+MQTTSUB=0,1,"data_report",1')),
    (
        b'AT+MQTTPUBEX=0,1,1,1,0,"data_report",16',
        Echo('AT+MQTTPUBEX=0,1,1,1,0,"data_report",16'),
    ),
    (b"AT+MQTTDISC=0", Echo("AT+MQTTDISC=0")),
    (b"AT+MQTTCLOSE=0", Echo("AT+MQTTCLOSE=0")),
    (b"AT+MQTTCFG?", Echo("AT+MQTTCFG?")),
    (b"AT+MQTTCFG=?", Echo("AT+MQTTCFG=?")),
    (b"AT+CTWINGPOSTVER=0", Echo("AT+CTWINGPOSTVER=0")),
    (b"AT", Echo("AT")),
    (b"version:4", TextLine("version:4")),
    (b"will_retain: 0", TextLine("will_retain: 0")),
    (b'{"water_flow":1}', TextLine('{"water_flow":1}')),
    (b"RDY", TextLine("RDY")),
]


@pytest.mark.parametrize(("line", "event"), EXACT_LINES, ids=[e[0].decode() for e in EXACT_LINES])
@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r"], ids=["crlf", "lf", "cr"])
def test_manual_line(line: bytes, event: Event, ending: bytes) -> None:
    """Each example line gives its event, whatever the chunking and line ending."""
    data = line + ending + b"OK\r\n"
    assert assert_chunking_invariant(data) == [event, OK]


# Test-command answers: the ranges are kept in `raw`; only the parameter name is asserted.
TEST_ANSWERS: list[tuple[bytes, str, str | None]] = [
    (b'+MQTTCFG: "version", (0-5), (3, 4)', "MQTTCFG", "version"),
    (b'+MQTTCFG: "pdpcid", (0-5), (1-16)', "MQTTCFG", "pdpcid"),
    (b'+MQTTCFG: "ssl", (0-5), (0, 1), (0-5)', "MQTTCFG", "ssl"),
    (b'+MQTTCFG: "keepalive", (0-5), (10-290)', "MQTTCFG", "keepalive"),
    (b'+MQTTCFG: "session", (0-5), (0, 1)', "MQTTCFG", "session"),
    (b'+MQTTCFG: "timeout", (0-5), (1-60), (1-10), (0, 1)', "MQTTCFG", "timeout"),
    (
        b'+MQTTCFG: "will", (0-5), (0, 1), (0-2), (0, 1), <willtopic>, <willmessage>',
        "MQTTCFG",
        "will",
    ),
    (" +MQTTCFG: “recv/mode”, (0-5), (0, 1), (0, 1)".encode(), "MQTTCFG", "“recv/mode”"),
    (" +MQTTCFG: “cached”, (0-5), (0, 1)".encode(), "MQTTCFG", "“cached”"),
    (b"+MQTTOPEN: (0-5), <hostname>, (0-65535)", "MQTTOPEN", "(0-5)"),
    (b"+MQTTCLOSE: (0-5)", "MQTTCLOSE", "(0-5)"),
    (b"+MQTTCONN: (0-5), (clientID), (username), (password)", "MQTTCONN", "(0-5)"),
    (b"+MQTTUNS:(0-5),(1-65535),(topic)", "MQTTUNS", "(0-5)"),
    (
        b"+MQTTPUBEX: (0-5), (0-65535), (0-2), (0,1), (0-2), (topic), (1-2048)",
        "MQTTPUBEX",
        "(0-5)",
    ),
    (b"+CTWINGPOSTVER: (0-5)", "CTWINGPOSTVER", "(0-5)"),
]


@pytest.mark.parametrize(("line", "name", "first"), TEST_ANSWERS)
def test_test_command_answer(line: bytes, name: str, first: str | None) -> None:
    """`AT+X=?` answers are result lines that keep their text."""
    events = assert_chunking_invariant(line + b"\r\n")
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, ResultLine)
    assert event.name == name
    assert event.raw == line.decode().strip()
    assert event.fields[0] == first


def test_page_broken_will_line_is_text() -> None:
    """The manual's page break leaves `“will”, ...` alone on a line: a TextLine, no crash."""
    line = "“will”, (0-5), (0, 1), (0-2), (0, 1), <willtopic>, <willmessage>"
    events = assert_chunking_invariant(b"+MQTTCFG:\r\n" + line.encode() + b"\r\nOK\r\n")
    assert events == [ResultLine("MQTTCFG", (), "+MQTTCFG:"), TextLine(line), OK]


CFG_BLOCK_LINES = [
    "+MQTTCFG: 0",
    "version:4",
    "pdpcid:1",
    "sslenable:0 ssictx_id:0",
    "keepalive:120",
    "session:1",
    "pkt_timeout:10",
    "retry_time:3",
    "timeout_notice:0",
    "will_fg:0 will_qos:0",
    "will_retain: 0",
    'will_topic:""',
    'will_msg:""',
    "msg_rcv_mode:0",
    "msg_len_enable:1",
    'product_key:""device_name:""device_secret:""',
]


def test_cfg_query_block() -> None:
    """The multi-line `AT+MQTTCFG?` answer: one result line, then text lines, then OK."""
    data = ("\r\n".join(["AT+MQTTCFG?", *CFG_BLOCK_LINES, "OK"]) + "\r\n").encode()
    events = assert_chunking_invariant(data)
    assert events[0] == Echo("AT+MQTTCFG?")
    assert events[1] == ResultLine("MQTTCFG", ("0",), "+MQTTCFG: 0")
    assert events[2:-1] == [TextLine(t) for t in CFG_BLOCK_LINES[1:]]
    assert events[-1] == OK


TASK5 = b'{"taskId":5, "payload":{"valve_onoff":1}}'
TASK41 = b'{"taskId":41, "payload":{"TESTINT1":10}}'


@pytest.mark.parametrize(
    ("line", "expected", "declared"),
    [
        (
            b"+MQTTRECV: 0,1, valve_onoff_cmd, 40, " + TASK5,
            Message(0, 1, "valve_onoff_cmd", TASK5, True),
            40,
        ),
        (
            b"+MQTTRECV: 0, 1, TESTDOWN, 39, " + TASK41,
            Message(0, 1, "TESTDOWN", TASK41, True),
            39,
        ),
    ],
)
def test_manual_recv_examples(line: bytes, expected: Message, declared: int) -> None:
    """The manual's URCs declare one byte too few: delivered whole, flagged."""
    assert len(expected.payload) == declared + 1
    events = assert_chunking_invariant(line + b"\r\nOK\r\n")
    assert events == [expected, OK]


SESSION_LINES: list[tuple[bytes, Event | None]] = [
    (b'AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883', Echo('AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883')),
    (b"+MQTTOPEN:0,0", ResultLine("MQTTOPEN", ("0", "0"), "+MQTTOPEN:0,0")),
    (b"OK", OK),
    (CONN_ECHO.encode(), Echo(CONN_ECHO)),
    (b"+MQTTCONN:0,0,0", ResultLine("MQTTCONN", ("0", "0", "0"), "+MQTTCONN:0,0,0")),
    (b"OK", OK),
    (
        b"+MQTTRECV: 0,1, valve_onoff_cmd, 40, " + TASK5,
        Message(0, 1, "valve_onoff_cmd", TASK5, True),
    ),
    (b'AT+MQTTSUB=0,1,"data_report",1', Echo('AT+MQTTSUB=0,1,"data_report",1')),
    (b"+MQTTSUB:0,1,0,1", ResultLine("MQTTSUB", ("0", "1", "0", "1"), "+MQTTSUB:0,1,0,1")),
    (b"OK", OK),
    (
        b'AT+MQTTPUBEX=0,1,1,1,0,"data_report",16',
        Echo('AT+MQTTPUBEX=0,1,1,1,0,"data_report",16'),
    ),
    (b"CONNECT", Prompt()),
    (b'{"water_flow":1}', TextLine('{"water_flow":1}')),
    (b"+MQTTPUBEX:0,1,0", ResultLine("MQTTPUBEX", ("0", "1", "0"), "+MQTTPUBEX:0,1,0")),
    (b"OK", OK),
    (b"AT+MQTTDISC=0", Echo("AT+MQTTDISC=0")),
    (b"+MQTTDISC:0,0", ResultLine("MQTTDISC", ("0", "0"), "+MQTTDISC:0,0")),
    (b"OK", OK),
    (b"AT+MQTTCLOSE=0", Echo("AT+MQTTCLOSE=0")),
    (b"+MQTTCLOSE:0,0", ResultLine("MQTTCLOSE", ("0", "0"), "+MQTTCLOSE:0,0")),
    (b"OK", OK),
]


def test_manual_session_as_one_stream() -> None:
    """Section 2.1 of the manual, echo on, blank lines between lines, as one stream."""
    data = b"".join(b"\r\n" + line + b"\r\n" for line, _ in SESSION_LINES)
    expected = [event for _, event in SESSION_LINES if event is not None]
    assert assert_chunking_invariant(data) == expected


# --- +MQTTRECV framing ---------------------------------------------------------------------

PAYLOADS: list[bytes] = [
    b"x",
    b"a,b,c",
    b'"quoted", "and, commas"',
    "温度=25℃, ok".encode(),
    b"line1\r\nline2",
    b"\r\n",
    b"\n\n\rX",
    b"OK\r\nERROR\r\n+MQTTRECV: 0,1,t,1,z",
    b"\x1a\x00\xff\xfe",
    bytes(range(256)),
    random.Random(28).randbytes(2048),
    (b"ab\r\n" * 512),
]
HEADERS = {
    "compact": b"+MQTTRECV:%d,%d,%s,%d,",
    "spaced": b"+MQTTRECV: %d, %d, %s, %d, ",
    "quoted": b'+MQTTRECV: %d,%d,"%s",%d,',
}


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"p{i}" for i in range(len(PAYLOADS))])
@pytest.mark.parametrize("style", list(HEADERS))
def test_recv_payload_read_by_length(payload: bytes, style: str) -> None:
    """Payloads with line breaks, commas, quotes, UTF-8 and binary come out byte-exact."""
    head = HEADERS[style] % (3, 65535, b"dev/down", len(payload))
    events = assert_chunking_invariant(head + payload + b"\r\nOK\r\n")
    assert events == [Message(3, 65535, "dev/down", payload), OK]


def test_recv_max_payload_is_2048_bytes() -> None:
    """A 2048-byte binary payload, the manual's maximum, full of line ends."""
    payload = bytes(random.Random(1).choice(b'\r\n,"\x00\xff') for _ in range(2048))
    data = b"+MQTTRECV: 0,7,t,2048," + payload + b"\r\nOK\r\n"
    assert assert_chunking_invariant(data) == [Message(0, 7, "t", payload), OK]


@pytest.mark.parametrize(
    ("topic_wire", "topic"),
    [
        (b'"a,b,c"', "a,b,c"),
        (b'"with space"', "with space"),
        (b'""', ""),
        (b"plain/topic", "plain/topic"),
        # one space after the comma is the separator; the topic keeps every other byte
        (b"  padded  ", " padded  "),
        ("温度/上报".encode(), "温度/上报"),
        ('"温度,上报"'.encode(), "温度,上报"),
    ],
)
def test_recv_topics(topic_wire: bytes, topic: str) -> None:
    """Quoted topics may hold commas and spaces; unquoted ones lose only the separator."""
    data = b"+MQTTRECV: 1,2," + topic_wire + b",2,hi\r\n"
    assert assert_chunking_invariant(data) == [Message(1, 2, topic, b"hi")]


def test_recv_quoted_topic_with_comma_space_compact_header() -> None:
    """A ", " inside a quoted topic does not make a compact header look spaced."""
    data = b'+MQTTRECV:0,1,"0, x",2, \r\r\n+MQTTRECV:0,2,"a, b",3, hi\r\n'
    assert assert_chunking_invariant(data) == [
        Message(0, 1, "0, x", b" \r"),
        Message(0, 2, "a, b", b" hi"),
    ]


def test_recv_without_length_field() -> None:
    """set_length_field(False): the payload is the rest of the line, even if it looks numeric."""
    modes: LengthModes = {0: False}
    data = b'+MQTTRECV: 0,1,t,12,{"a":1, "b":2}\r\n+MQTTRECV:0,2,t,12\r\nOK\r\n'
    assert assert_chunking_invariant(data, modes) == [
        Message(0, 1, "t", b'12,{"a":1, "b":2}'),
        Message(0, 2, "t", b"12"),
        OK,
    ]


def test_recv_length_field_per_client() -> None:
    """The setting is per client: client 1 keeps auto-detection while client 0 is fixed."""
    modes: LengthModes = {0: False, 1: None}
    data = b"+MQTTRECV:0,1,t,3,abc\r\n+MQTTRECV:1,1,t,3,abc\r\n"
    assert assert_chunking_invariant(data, modes) == [
        Message(0, 1, "t", b"3,abc"),
        Message(1, 1, "t", b"abc"),
    ]


def test_recv_auto_detects_missing_length() -> None:
    """Auto-detect: a non-numeric field after the topic means no length field."""
    data = b'+MQTTRECV: 0, 1, t, {"taskId":5}\r\n+MQTTRECV:0,2,t,hello, world\r\n'
    assert assert_chunking_invariant(data) == [
        Message(0, 1, "t", b'{"taskId":5}'),
        Message(0, 2, "t", b"hello, world"),
    ]


def test_set_length_field_none_restores_detection() -> None:
    """set_length_field(i, None) forgets a fixed setting."""
    parser = Parser()
    parser.set_length_field(0, False)
    assert parser.feed(b"+MQTTRECV:0,1,t,2,hi\r\n") == [Message(0, 1, "t", b"2,hi")]
    parser.set_length_field(0, None)
    assert parser.feed(b"+MQTTRECV:0,1,t,2,hi\r\n") == [Message(0, 1, "t", b"hi")]


def test_recv_length_required_but_missing() -> None:
    """set_length_field(True) and no length: Garbage, and the next line is still parsed."""
    data = b"+MQTTRECV:0,1,t,hello\r\nOK\r\n"
    events = assert_chunking_invariant(data, {0: True})
    assert len(events) == 2
    assert isinstance(events[0], Garbage)
    assert events[0].reason == "+MQTTRECV without length"
    assert events[1] == OK


@pytest.mark.parametrize("spacing", [b"+MQTTRECV: 0,1,t,12", b"+MQTTRECV: 0, 1, t, 12 "])
def test_recv_payload_not_included(spacing: bytes) -> None:
    """msg_rcv_mode 1: `+MQTTRECV: 0,1,t,12` then the line end announces a message."""
    data = spacing + b"\r\nOK\r\n"
    assert assert_chunking_invariant(data) == [
        RecvNotice(0, 1, "t", 12),
        OK,
    ]


def test_recv_payload_longer_than_declared() -> None:
    """A line longer than declared is delivered whole and flagged."""
    data = b"+MQTTRECV:0,1,t,3,abcdef\r\nOK\r\n"
    assert assert_chunking_invariant(data) == [
        Message(0, 1, "t", b"abcdef", True),
        OK,
    ]


def test_recv_declared_end_not_at_a_line_end() -> None:
    """Declared bytes that end mid-line after a line break: the length is wrong, so only
    the first line is the message (flagged) and what follows is read as lines again."""
    data = b"+MQTTRECV:0,1,t,5,ab\r\ncdef\r\nOK\r\n"
    assert assert_chunking_invariant(data) == [
        Message(0, 1, "t", b"ab", True),
        TextLine("cdef"),
        OK,
    ]


def test_recv_between_result_and_ok() -> None:
    """A URC between a command's result line and its OK."""
    data = b"+MQTTSUB:0,1,0,1\r\n+MQTTRECV: 1,9,t,4,a\r\nb\r\nOK\r\n"
    assert assert_chunking_invariant(data) == [
        ResultLine("MQTTSUB", ("0", "1", "0", "1"), "+MQTTSUB:0,1,0,1"),
        Message(1, 9, "t", b"a\r\nb"),
        OK,
    ]


@pytest.mark.parametrize("prompt", [b"CONNECT\r\n", b"\r\n> ", b">"])
def test_recv_right_after_prompt(prompt: bytes) -> None:
    """A URC straight after the publish prompt."""
    data = prompt + b"+MQTTRECV:0,1,t,2,hi\r\n+MQTTPUBEX:0,1,0\r\nOK\r\n"
    assert assert_chunking_invariant(data) == [
        Prompt(),
        Message(0, 1, "t", b"hi"),
        ResultLine("MQTTPUBEX", ("0", "1", "0"), "+MQTTPUBEX:0,1,0"),
        OK,
    ]


MALFORMED_RECV = [
    (b"+MQTTRECV: x,1,t,3,abc", "malformed +MQTTRECV"),
    (b"+MQTTRECV:", "malformed +MQTTRECV"),
    (b"+MQTTRECV: 0", "malformed +MQTTRECV"),
    (b"+MQTTRECV: 0,1", "malformed +MQTTRECV"),
    (b"+MQTTRECV: 0,1,topic", "malformed +MQTTRECV"),
    (b"+MQTTRECVX 0,1,t,1,a", "malformed +MQTTRECV"),
]
"""Malformed ``+MQTTRECV`` headers, and why each is Garbage."""


# --- noise ---------------------------------------------------------------------------------

NOISE_LINES = [
    (b"\xff\xfeOK", "invalid UTF-8"),
    (b"OK\xc3", "invalid UTF-8"),
    (b"AB\x01CD", "control bytes in line"),
    (b"+MQTTOPEN: 0,\x000", "control bytes in line"),
    (b"\x1b[0m", "control bytes in line"),
]
"""Lines with invalid UTF-8 or control bytes, and why each is Garbage."""


@pytest.mark.parametrize(("line", "reason"), [*MALFORMED_RECV, *NOISE_LINES])
def test_bad_line_is_garbage(line: bytes, reason: str) -> None:
    """A malformed +MQTTRECV header, invalid UTF-8 or control bytes: Garbage, and the next
    line is still parsed."""
    events = assert_chunking_invariant(line + b"\r\nOK\r\n")
    assert events == [Garbage(line, reason), OK]


def test_blank_lines_and_stray_line_ends_vanish() -> None:
    """Blank lines, lone CR/LF and spaces produce no events."""
    assert assert_chunking_invariant(b"\r\n\r\n\n\r   \r\nOK\r\n\n\r") == [OK]


def test_longest_line_is_kept() -> None:
    """A line of exactly MAX_LINE bytes is still a line."""
    line = b"x" * MAX_LINE
    assert assert_chunking_invariant(line + b"\r\nOK\r\n") == [TextLine(line.decode()), OK]


@pytest.mark.parametrize(
    "line",
    [
        b"x" * (MAX_LINE + 1),
        b"x" * (3 * MAX_LINE),
        b"+MQTTRECV: 0,1,t,5," + b"y" * MAX_RECV_LINE,
        b"+CME ERROR: " + b"z" * MAX_LINE,
    ],
    ids=["just-over", "triple", "recv", "cme"],
)
def test_overlong_line_dropped_next_line_kept(line: bytes) -> None:
    """An overlong line is dropped as Garbage; the line after it survives."""
    events = assert_chunking_invariant(line + b"\r\nOK\r\n")
    assert events == [Garbage(line[:64], "overlong line dropped"), OK]


def test_overlong_tail_after_declared_payload() -> None:
    """Bytes past the declared length that never end the line are cut and dropped."""
    tail = b"q" * (MAX_LINE + 1)
    data = b"+MQTTRECV:0,1,t,4,ab\r\ncd" + tail + b"\r\nOK\r\n"
    assert assert_chunking_invariant(data) == [
        Message(0, 1, "t", b"ab", True),
        Garbage((b"cd" + tail)[:64], "overlong line dropped"),
        OK,
    ]


@pytest.mark.parametrize("prefix", [b"", b"+MQTTRECV: 0,1,t,3,", b"+MQTTRECV:0,1,t,2,a\rb"])
def test_buffer_bounded_without_line_ends(prefix: bytes) -> None:
    """Endless noise without a line end never grows the buffer past its line limit
    (MAX_LINE, or MAX_RECV_LINE for a +MQTTRECV, whose payload may be that long)."""
    limit = MAX_RECV_LINE if prefix else MAX_LINE
    parser = Parser()
    parser.feed(prefix)
    for _ in range(2 * limit // 1000):
        parser.feed(b"n" * 1000)
        assert parser.buffered <= limit
    assert parser.feed(b"\r\nOK\r\n")[-1] == OK


# --- properties ----------------------------------------------------------------------------

TERMINATORS = st.sampled_from([b"\r\n", b"\r\n", b"\n", b"\r", b"\r\n\r\n"])
SEPARATORS = st.sampled_from([b",", b", ", b" ,", b" , "])
SIMPLE_LINES = st.sampled_from(
    [line for line, _ in EXACT_LINES]
    + [line for line, _, _ in TEST_ANSWERS]
    + [text.encode() for text in CFG_BLOCK_LINES]
)
TOPIC_CHARS = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters='",\r\n\x7f '
)


@st.composite
def result_lines(draw: st.DrawFn) -> bytes:
    """`+NAME:<spaces>a<sep>b...` with random spacing and quoting."""
    name = draw(st.sampled_from([b"MQTTOPEN", b"MQTTSUB", b"MQTTPUBEX", b"CEREG", b"MQTTCONN"]))
    fields = draw(
        st.lists(
            st.one_of(
                st.integers(-1, 65535).map(lambda i: str(i).encode()),
                st.text(TOPIC_CHARS, max_size=8).map(lambda s: b'"' + s.encode() + b'"'),
            ),
            min_size=1,
            max_size=5,
        )
    )
    out = b"+" + name + b":" + b" " * draw(st.integers(0, 2))
    for i, field in enumerate(fields):
        out += (draw(SEPARATORS) if i else b"") + field
    return out


@st.composite
def recv_urcs(draw: st.DrawFn, *, round_trip: bool = False) -> tuple[bytes, Message]:
    """A `+MQTTRECV` with a random binary payload, random spacing and topic quoting."""
    index = draw(st.integers(0, 5))
    packet_id = draw(st.integers(1, 65535))
    topic = draw(st.text(TOPIC_CHARS, min_size=1, max_size=12))
    quoted = draw(st.booleans())
    topic_wire = (b'"%s"' if quoted else b"%s") % topic.encode()
    if quoted and draw(st.booleans()):  # commas and spaces are fine inside quotes
        topic = topic + ", x"
        topic_wire = b'"%s"' % topic.encode()
    payload = draw(
        st.one_of(
            st.binary(min_size=1, max_size=200),
            st.lists(
                st.sampled_from([b"\r", b"\n", b"\r\n", b",", b'"', b"a", b" "]), min_size=1
            ).map(b"".join),
        )
    )
    spaced = draw(st.booleans())
    if round_trip and spaced:
        # `, n, <payload ending in its first line break>` reads two ways; keep it unambiguous.
        breaks = [i for i, b in enumerate(payload) if b in b"\r\n"]
        if breaks and breaks[0] == len(payload) - 1:
            spaced = False
    if spaced:
        head = b"+MQTTRECV: %d, %d, %s, %d, " % (index, packet_id, topic_wire, len(payload))
    else:
        head = b"+MQTTRECV:%d,%d,%s,%d," % (index, packet_id, topic_wire, len(payload))
    return head + payload, Message(index, packet_id, topic, payload)


@st.composite
def valid_streams(
    draw: st.DrawFn, *, round_trip: bool = False
) -> tuple[list[bytes], list[Message]]:
    """A list of valid, terminated pieces of module output and the messages inside."""
    pieces: list[bytes] = []
    messages: list[Message] = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.integers(0, 4))
        if kind == 0:
            wire, message = draw(recv_urcs(round_trip=round_trip))
            pieces.append(wire + draw(TERMINATORS))
            messages.append(message)
        elif kind == 1:
            pieces.append(draw(result_lines()) + draw(TERMINATORS))
        elif kind == 2:
            pieces.append(draw(st.sampled_from([b">", b"> ", b"CONNECT\r\n"])))
        else:
            pieces.append(draw(SIMPLE_LINES) + draw(TERMINATORS))
    return pieces, messages


def chunkings(data: bytes) -> st.SearchStrategy[list[bytes]]:
    """Random cut points in `data`."""
    return st.lists(st.integers(0, len(data)), max_size=20).map(
        lambda cuts: split_at(data, sorted(cuts))
    )


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(st.data())
def test_property_any_chunking_same_events(data: st.DataObject) -> None:
    """(1) Any chunking of a valid stream gives the events of one feed."""
    pieces, _ = data.draw(valid_streams())
    stream = b"".join(pieces)
    expected = feed_chunks([stream])
    assert feed_chunks(data.draw(chunkings(stream))) == expected
    assert feed_chunks([stream[i : i + 1] for i in range(len(stream))]) == expected


@PROPERTY_SETTINGS
@given(st.data())
def test_property_payloads_round_trip(data: st.DataObject) -> None:
    """(1b) Every generated +MQTTRECV comes out with its exact topic and payload, once the
    module falls quiet (a payload that starts with a quote and ends at a lone line end may
    yet be a quoted payload: only the next byte, or the quiet gap, tells)."""
    pieces, messages = data.draw(valid_streams(round_trip=True))
    stream = b"".join(pieces)
    parser = Parser()
    events = [e for chunk in data.draw(chunkings(stream)) for e in parser.feed(chunk)]
    events += parser.end_frame()
    assert [e for e in events if isinstance(e, Message)] == messages
    assert not any(isinstance(e, Garbage) for e in events)


JUNK = (
    st.binary(min_size=1, max_size=80)
    .filter(lambda b: b"+MQTTRECV" not in b)
    .map(lambda b: b + b"\r\n")
)


@PROPERTY_SETTINGS
@given(st.data())
def test_property_junk_never_swallows_valid_lines(data: st.DataObject) -> None:
    """(2) Junk lines spliced between valid pieces never hide a valid event."""
    pieces, _ = data.draw(valid_streams())
    mixed = b""
    for piece in pieces:
        if data.draw(st.booleans()):
            # A junk line must start on a line of its own, like any line.
            mixed += b"\r\n" + data.draw(JUNK)
        mixed += piece
    valid_events = feed_chunks([b"".join(pieces)])
    mixed_events = feed_chunks(data.draw(chunkings(mixed)))
    assert is_subsequence(valid_events, mixed_events), (valid_events, mixed_events)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=10))
def test_property_arbitrary_bytes(blob: bytes, cuts: list[int]) -> None:
    """(3) Arbitrary bytes never raise, chunk invariantly, and keep the buffer bounded."""
    parser = Parser()
    events: list[Event] = []
    for chunk in split_at(blob, sorted(c for c in cuts if c <= len(blob))):
        events += parser.feed(chunk)
        assert parser.buffered <= BUFFER_BOUND
    assert events == feed_chunks([blob])


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=1, max_size=600).filter(lambda b: b"\r" not in b and b"\n" not in b))
def test_property_noise_without_line_end_bounded(noise: bytes) -> None:
    """(3) Noise with no line end, repeated past its line limit, stays within that limit:
    MAX_LINE, or MAX_RECV_LINE when the noise starts like a +MQTTRECV."""
    limit = MAX_RECV_LINE if noise.startswith(b"+MQTTRECV") else MAX_LINE
    parser = Parser()
    for _ in range(limit // len(noise) + 2):
        parser.feed(noise)
        assert parser.buffered <= limit
    assert parser.feed(b"\r\nOK\r\n")[-1] == OK


def test_test_command_ranges_stay_whole() -> None:
    """A parenthesised range with a comma inside is one field, as a quoted string is."""
    events = assert_chunking_invariant(b'+MQTTCFG: "timeout", (0-5), (1-60), (0, 1)\r\n')
    assert events == [
        ResultLine(
            "MQTTCFG",
            ("timeout", "(0-5)", "(1-60)", "(0, 1)"),
            '+MQTTCFG: "timeout", (0-5), (1-60), (0, 1)',
        )
    ]


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (b"", [OK]),
        (b"\r\n+CSQ: 20,99", [ResultLine("CSQ", ("20", "99"), "+CSQ: 20,99"), OK]),
        (b"+MQTTRECV: 0,1,t,6,", []),  # the chunk is the payload a publisher chose
        (b"x" * (MAX_LINE + 1), [OK]),  # the end of an overlong line being dropped
    ],
    ids=["alone", "after-partial-line", "inside-payload", "while-discarding"],
)
def test_lone_ok_chunk_read_as_the_scan_reads_it(before: bytes, expected: list[Event]) -> None:
    """A chunk that is exactly CRLF OK CRLF is an OK only when nothing is pending."""
    parser = Parser()
    parser.feed(before)
    events = parser.feed(b"\r\nOK\r\n")
    assert events == expected
