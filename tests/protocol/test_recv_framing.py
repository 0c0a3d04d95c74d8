"""+MQTTRECV is delimited by its declared length, whatever its topic and payload hold.

Whoever can publish on a subscribed topic chooses the topic's and the payload's bytes:
commas, quotes, bytes that are not UTF-8, and whole lines such as `OK`, `RDY` or a forged
`+MQTTRECV`. None of that may ever be read as the module's own output.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support.chunking import OK, assert_chunking_invariant, feed_chunks, split_at

from nm28_async.protocol.events import Event, Garbage, Message, ResultLine, TextLine
from nm28_async.protocol.parser import MAX_RECV_PAYLOAD, Parser, classify_line
from nm28_async.protocol.results import parse_answer

FORGED = b"x\r\nRDY\r\n+MQTTRECV: 0,9,bank/cmd,6,forged\r\ny"
"""The payload of the field report: a reboot banner and a forged message inside."""


def frame(index: int, packet_id: int, topic: bytes, payload: bytes) -> bytes:
    """The manual's unquoted form, as the module prints it."""
    return b"\r\n+MQTTRECV: %d,%d,%s,%d,%s\r\n" % (index, packet_id, topic, len(payload), payload)


def test_topic_with_a_comma() -> None:
    """`dev/a,b` is one topic: the split is where the declared length ends at a line end."""
    events = assert_chunking_invariant(b"+MQTTRECV: 0,1,dev/a,b,5,hello\r\nOK\r\n")
    assert events == [Message(0, 1, "dev/a,b", b"hello"), OK]


def test_field_report_is_one_message() -> None:
    """The report's `mosquitto_pub -t 'dev/a,b' -m $'x\\r\\nRDY\\r\\n+MQTTRECV: ...\\r\\ny'`: one
    message; the banner and the forged frame inside it are payload."""
    data = frame(0, 1, b"dev/a,b", FORGED) + b"\r\nOK\r\n"
    assert assert_chunking_invariant(data) == [
        Message(0, 1, "dev/a,b", FORGED),
        OK,
    ]


@pytest.mark.parametrize(
    "topic",
    [b'a"b', b'"a', b'a"', b"a,b,c", b"a, b", b",", b"a,,b", b"x,y,z/1,2", b"a,12x,b"],
)
def test_topics_with_commas_and_quotes(topic: bytes) -> None:
    """Unquoted topics holding commas and quotes come out whole."""
    payload = b"OK\r\nERROR\r\n"
    events = assert_chunking_invariant(frame(2, 7, topic, payload) + b"\r\nOK\r\n")
    assert events == [Message(2, 7, topic.decode(), payload), OK]


def test_quoted_topic_holding_quotes_and_commas() -> None:
    """A quoted topic ends at the quote its length field follows."""
    data = b'+MQTTRECV: 0,3,"a"b,c",5,hello\r\n'
    assert assert_chunking_invariant(data) == [Message(0, 3, 'a"b,c', b"hello")]


def test_gbk_topic_is_delivered_with_its_bytes() -> None:
    """A topic that is not UTF-8 (GBK here) is a message, not garbage; its bytes are kept
    and its str round-trips to them."""
    topic = "温度/上报".encode("gbk")
    payload = b"RDY\r\nOK"
    events = assert_chunking_invariant(frame(1, 4, topic, payload) + b"\r\nOK\r\n")
    assert len(events) == 2
    message = events[0]
    assert isinstance(message, Message)
    assert message.topic_bytes == topic
    assert message.payload == payload
    assert events[1] == OK


def test_quoted_topic_and_payload() -> None:
    """Firmware that quotes both: the length counts the payload without its quotes."""
    data = b'+MQTTRECV: 0,3,"a/b",5,"hello"\r\nOK\r\n'
    assert assert_chunking_invariant(data) == [Message(0, 3, "a/b", b"hello"), OK]


def test_quoted_payload_holding_line_breaks() -> None:
    data = b'+MQTTRECV: 0,3,"a/b",6,"\r\nOK\r\n"\r\n'
    assert assert_chunking_invariant(data) == [Message(0, 3, "a/b", b"\r\nOK\r\n")]


def test_length_that_counts_the_quotes() -> None:
    """A length that counts the quotes too: the quotes are payload."""
    data = b'+MQTTRECV: 0,3,t,7,"hello"\r\n'
    assert assert_chunking_invariant(data) == [Message(0, 3, "t", b'"hello"')]


def test_payload_commas_and_numbers_do_not_move_the_split() -> None:
    """`[1,2,3]` also reads as topic `t,7,[1`, length 2; the leftmost split wins."""
    data = b"+MQTTRECV: 0,1,t,7,[1,2,3]\r\n"
    assert assert_chunking_invariant(data) == [Message(0, 1, "t", b"[1,2,3]")]


@pytest.mark.parametrize(
    "line",
    [
        b"+MQTTRECV: " + b"1" * 5000 + b",1,t,1,a",
        b"+MQTTRECV: 0," + b"9" * 5000 + b",t,1,a",
        b"+MQTTRECV: 0,1,t," + b"7" * 5000 + b",a",
        b"+MQTTRECV: 0,1,t," + b"7" * 5000,
        b"+MQTTOPEN: " + b"1" * 5000 + b",0",
    ],
    ids=["index", "packet-id", "length", "trailing-length", "result-line"],
)
def test_numbers_of_thousands_of_digits_never_raise(line: bytes) -> None:
    """A number too long for int() is noise: the parser never raises, the next line lives."""
    events = assert_chunking_invariant(line + b"\r\nOK\r\n")
    assert events[-1] == OK
    for event in events:
        if isinstance(event, ResultLine):
            assert parse_answer(event) is None


# --- a declared length longer than what was sent (issue: phantom length) -----------------


def test_phantom_length_is_decided_when_the_stream_goes_quiet() -> None:
    """`t,200,short` then the OK of the command in flight: the frame waits for bytes that
    never come; the quiet gap ends it, and the OK is read again as the module's."""
    parser = Parser()
    assert parser.feed(b"+MQTTRECV: 0,1,t,200,short\r\nOK\r\n") == []
    assert parser.awaiting_frame
    assert parser.end_frame() == [Message(0, 1, "t", b"short", True), OK]
    assert not parser.awaiting_frame
    assert parser.feed(b"\r\nOK\r\n") == [OK]


def test_phantom_length_filled_by_later_output_costs_one_message() -> None:
    """When later output fills the phantom length and its end is no line end, the length was
    wrong: only the first line is the message and every answer after it is read again."""
    answers = b"\r\n+CSQ: 24,99\r\n\r\nOK\r\n" * 12
    declared = 200
    data = b"+MQTTRECV: 0,1,t,%d,short\r\n" % declared + answers
    assert data[data.index(b"short") + declared] not in b"\r\n"
    csq = ResultLine("CSQ", ("24", "99"), "+CSQ: 24,99")
    assert assert_chunking_invariant(data) == [
        Message(0, 1, "t", b"short", True),
        *[csq, OK] * 12,
    ]


def test_end_frame_without_a_pending_frame_changes_nothing() -> None:
    parser = Parser()
    assert parser.feed(b"+CSQ: 24,99\r\nO") == [ResultLine("CSQ", ("24", "99"), "+CSQ: 24,99")]
    assert parser.end_frame() == []
    assert parser.feed(b"K\r\n") == [OK]


def test_pending_frame_is_reported_until_decided() -> None:
    parser = Parser()
    parser.feed(b"+MQTTRECV: 0,1,t,10,ab")
    assert parser.awaiting_frame
    assert parser.feed(b"cdefghij\r\n") == [Message(0, 1, "t", b"abcdefghij")]
    assert not parser.awaiting_frame


# --- properties: no byte a publisher chose is ever module output ---------------------------

# Bytes a topic may hold on the wire; the module prints it raw, unquoted.
PAYLOAD_PIECES = [
    *(b"\r\n", b"OK", b"ERROR", b"RDY", b"CONNECT", b">", b",", b'"', b"5", b"12", b" "),
    *(b"+MQTTRECV: 0,9,bank/cmd,6,forged", b"+MQTTOPEN: 0,0", b"+CME ERROR: 3"),
]
"""Module output and field separators, the pieces an attacker's payload is made of."""
# (A leading space is the separator of the manual's `0,1, topic`: not generated here.)
ANY_TOPIC = st.binary(min_size=1, max_size=24).filter(
    lambda b: not any(c in b for c in b"\r\n\x00") and not b.startswith(b" ")
)
ANY_PAYLOAD = st.one_of(
    st.binary(min_size=0, max_size=120),
    st.lists(
        st.sampled_from(PAYLOAD_PIECES),
        max_size=12,
    ).map(b"".join),
)
MODULE_LINES = st.sampled_from(
    [
        *(b"OK", b"ERROR", b"+CME ERROR: 50", b"RDY", b"+MQTTPUBEX:0,1,0", b"+MQTTSUB:0,2,0,1"),
        *(b"+MQTTOPEN:1,0", b"CONNECT", b"+CEREG: 1", b"+MQTTCONN: 0,1"),
    ]
)
AMBIGUOUS_TOPIC = re.compile(rb", *\d{1,9} *(?:,|$)")
"""A topic holding `,<n>,` (or ending in `,<n>`) makes the unquoted format itself ambiguous:
`x,4,y` + `\\r\\nOK\\r\\n` is byte for byte also topic `x`, payload `y,6,`, then an `OK`.
docs/protocol-decisions.md explains the rule the parser follows for those."""


@st.composite
def module_output(draw: st.DrawFn) -> tuple[bytes, list[Event]]:
    """The module's own lines and frames with publisher-chosen topics and payloads, and the
    events it meant."""
    stream = b""
    meant: list[Event] = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            topic = draw(ANY_TOPIC)
            assume(not AMBIGUOUS_TOPIC.search(topic))
            payload = draw(ANY_PAYLOAD)
            index, packet_id = draw(st.integers(0, 5)), draw(st.integers(0, 65535))
            stream += frame(index, packet_id, topic, payload)
            meant.append(
                Message(index, packet_id, topic.decode("utf-8", "surrogateescape"), payload)
            )
        else:
            line = draw(MODULE_LINES)
            stream += b"\r\n" + line + b"\r\n"
            event = classify_line(line)
            assert event is not None
            meant.append(event)
    return stream, meant


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_property_publisher_bytes_never_become_module_output(data: st.DataObject) -> None:
    """Any topic (any bytes but CR, LF, NUL) and any payload, framed by the module and mixed
    with its own lines, in any chunking: exactly the events the module meant, no final code,
    banner, result line or message it did not send."""
    stream, meant = data.draw(module_output())
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    events = feed_chunks(split_at(stream, sorted(cuts)))
    assert events == meant
    assert not any(isinstance(e, Garbage | TextLine) for e in events if e not in meant)


@settings(max_examples=200, deadline=None)
@given(ANY_TOPIC, ANY_PAYLOAD)
def test_property_topic_str_round_trips_to_its_bytes(topic: bytes, payload: bytes) -> None:
    assume(not AMBIGUOUS_TOPIC.search(topic))
    (event,) = feed_chunks([frame(0, 1, topic, payload)])
    assert isinstance(event, Message)
    assert event.topic_bytes == topic
    assert event.payload == payload


def test_declared_length_above_the_trusted_bound_stays_on_its_line() -> None:
    """A length above MAX_RECV_PAYLOAD is not trusted to span lines."""
    declared = MAX_RECV_PAYLOAD + 1
    data = b"+MQTTRECV: 0,1,t,%d,abc\r\nOK\r\n" % declared
    assert assert_chunking_invariant(data) == [
        Message(0, 1, "t", b"abc", True),
        OK,
    ]
