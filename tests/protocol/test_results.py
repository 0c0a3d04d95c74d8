"""Result lines: which command they complete, progress, meanings, the AT+MQTTCFG? block."""

from __future__ import annotations

import pytest

from nm28_async.protocol import codes
from nm28_async.protocol import commands as c
from nm28_async.protocol import results as r
from nm28_async.protocol.commands import ResultKey
from nm28_async.protocol.events import Final, ResultLine, TextLine
from nm28_async.protocol.parser import Parser
from nm28_async.protocol.results import ClientConfig, parse_answer, parse_config_block


def line(text: str) -> ResultLine:
    """Parse one result line through the real parser."""
    events = Parser().feed(text.encode() + b"\r\n")
    assert len(events) == 1
    assert isinstance(events[0], ResultLine)
    return events[0]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("+MQTTOPEN:0,0", ResultKey("MQTTOPEN", 0)),
        ("+MQTTOPEN: 5, -1", ResultKey("MQTTOPEN", 5)),
        ("+MQTTCLOSE:0,0", ResultKey("MQTTCLOSE", 0)),
        ("+MQTTCONN:0,0,0", ResultKey("MQTTCONN", 0)),
        ("+MQTTDISC:0,0", ResultKey("MQTTDISC", 0)),
        ("+MQTTSUB:0,1,0,1", ResultKey("MQTTSUB", 0, 1)),
        ("+MQTTSUB:0,7,2", ResultKey("MQTTSUB", 0, 7)),
        ("+MQTTUNS:1,65535,0", ResultKey("MQTTUNS", 1, 65535)),
        ("+MQTTPUBEX:0,1,0", ResultKey("MQTTPUBEX", 0, 1)),
        ("+MQTTPUBEX:0,1", ResultKey("MQTTPUBEX", 0, 1)),
        ("+MQTTPUBEX:0,1,0,-1,3", ResultKey("MQTTPUBEX", 0, 1)),
        ("+CTWINGPOSTVER: 0", ResultKey("CTWINGPOSTVER")),
        ("AT+CTWINGPOSTVER:0", ResultKey("CTWINGPOSTVER")),
        # Query answers and test answers complete nothing.
        ('+MQTTOPEN:0,"mqtt.ctwing.cn",1883', None),
        ("+MQTTCONN:0,1", None),
        ("+MQTTCLOSE: (0-5)", None),
        ("+MQTTOPEN: a,0", None),
        ("+MQTTSUB:0,1", None),
        ("+MQTTPUBEX:0,1,0,0,0,0", None),
        ("+MQTTCFG: 0", None),
        ('+CEREG: 1,"ABCD"', None),
    ],
)
def test_result_key(text: str, key: ResultKey | None) -> None:
    """A result line is keyed by name, client index and (SUB/UNS/PUBEX) message id."""
    answer = parse_answer(line(text))
    assert (None if answer is None else answer.key) == key


def test_result_keys_match_command_keys() -> None:
    """The manual's answers complete the manual's commands."""
    pairs = [
        (c.open_network(0, "mqtt.ctwing.cn", 1883), "+MQTTOPEN:0,0"),
        (c.connect(0, "1701491811", "15312630", "pw"), "+MQTTCONN:0,0,0"),
        (c.subscribe(0, 1, "data_report", 1), "+MQTTSUB:0,1,0,1"),
        (c.publish(0, 1, "data_report", "x"), "+MQTTPUBEX:0,1,0"),
        (c.disconnect(0), "+MQTTDISC:0,0"),
        (c.close_network(0), "+MQTTCLOSE:0,0"),
        (c.unsubscribe(0, 2, "data_report"), "+MQTTUNS:0,2,0"),
        (c.ctwing_post_version(0), "+CTWINGPOSTVER:0"),
    ]
    for command, text in pairs:
        assert command.result is not None
        answer = parse_answer(line(text))
        assert answer is not None
        assert answer.key == command.result
    other = parse_answer(line("+MQTTSUB:0,2,0,1"))
    assert other is not None
    assert other.key != c.subscribe(0, 1, "t", 1).result


@pytest.mark.parametrize(
    ("text", "progress"),
    [
        ("+MQTTCONN:0,1,0", True),
        ("+MQTTCONN:0,0,0", False),
        ("+MQTTCONN:0,2,0", False),
        ("+MQTTSUB:0,1,1,2", True),
        ("+MQTTSUB:0,1,0,1", False),
        ("+MQTTSUB:0,1,2", False),
        ("+MQTTUNS:0,1,1", True),
        ("+MQTTUNS:0,1,0", False),
        ("+MQTTOPEN:0,1", False),  # 1 is "bad parameter" here, a final answer
        ("+MQTTPUBEX:0,1,0", False),
        ("+MQTTPUBEX:0,1,1,2", True),
        ("+MQTTDISC:0,1", False),
    ],
)
def test_is_progress(text: str, progress: bool) -> None:
    """Only result 1 of CONN/SUB/UNS/PUBEX means "retransmitting, wait on"."""
    answer = parse_answer(line(text))
    assert answer is not None
    assert r.is_progress(answer) is progress


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("+MQTTOPEN:0,4", r.OpenAnswer(0, 4)),
        ("+MQTTCLOSE: 2, -1", r.CloseAnswer(2, -1)),
        ("+MQTTCONN:1,0,4", r.ConnectAnswer(1, 0, 4)),
        ("+MQTTDISC:0,0", r.DisconnectAnswer(0, 0)),
        ("+MQTTSUB:0,7,0,1", r.SubscribeAnswer(0, 7, 0, 1)),
        ("+MQTTSUB:0,7,2", r.SubscribeAnswer(0, 7, 2, None)),
        ("+MQTTUNS:3,9,0", r.UnsubscribeAnswer(3, 9, 0, None)),
        ("+MQTTPUBEX: 0, 1, -1, 0", r.PublishAnswer(0, 1, (-1, 0))),
        ("+MQTTPUBEX:0,1", r.PublishAnswer(0, 1, ())),
        ("AT+CTWINGPOSTVER:-1", r.CtwingVersionAnswer(-1)),
    ],
)
def test_typed_answers(text: str, answer: r.Answer) -> None:
    """Result lines become answers with named fields, negatives included."""
    assert parse_answer(line(text)) == answer


def test_meanings() -> None:
    """The manual's code tables, and unknown codes."""
    assert codes.meaning(codes.OPEN_RESULTS, 4) == "DNS resolution failed"
    assert codes.meaning(codes.CONNACK_CODES, 4) == "bad user name or password"
    assert codes.meaning(codes.OPEN_RESULTS, 99) == "unknown code 99"
    assert set(codes.OPEN_RESULTS) == set(range(-1, 6)) == set(codes.OpenResult)
    assert set(codes.CLOSE_RESULTS) == set(codes.DISCONNECT_RESULTS) == {-1, 0}
    assert set(codes.PACKET_RESULTS) == {0, 1, 2}
    assert set(codes.CONNACK_CODES) == set(range(6)) == set(codes.ConnackCode)
    assert set(codes.PUBLISH_RESULTS) == {-1, 0}
    assert codes.PACKET_RESULTS[codes.PacketResult.RETRANSMITTING] == "retransmitting"


CFG_ANSWER = b"""AT+MQTTCFG?\r
+MQTTCFG: 0\r
version:4\r
pdpcid:1\r
sslenable:0 ssictx_id:0\r
keepalive:120\r
session:1\r
pkt_timeout:10\r
retry_time:3\r
timeout_notice:0\r
will_fg:0 will_qos:0\r
will_retain: 0\r
will_topic:""\r
will_msg:""\r
msg_rcv_mode:0\r
msg_len_enable:1\r
product_key:""device_name:""device_secret:""\r
+MQTTCFG: 1\r
version:3\r
pdpcid:16\r
sslenable:1 ssictx_id:5\r
keepalive:290\r
session:0\r
pkt_timeout:60\r
retry_time:10\r
timeout_notice:1\r
will_fg:1 will_qos:2\r
will_retain: 1\r
will_topic:"dev/lwt"\r
will_msg:"bye: now, really"\r
msg_rcv_mode:1\r
msg_len_enable:0\r
product_key:"pk1"device_name:"dev 1"device_secret:"s3cr3t"\r
OK\r
"""


def test_parse_config_block_two_clients() -> None:
    """The manual-shaped AT+MQTTCFG? answer for two clients, through the parser."""
    events = Parser().feed(CFG_ANSWER)
    assert isinstance(events[-1], Final)
    block = [e for e in events if isinstance(e, ResultLine | TextLine)]
    configs = parse_config_block(block)
    assert configs == {
        0: ClientConfig(
            0,
            version=4,
            pdpcid=1,
            ssl_enabled=False,
            ssl_ctx=0,
            keepalive=120,
            clean_session=True,
            pkt_timeout=10,
            retries=3,
            timeout_notice=False,
            will_enabled=False,
            will_qos=0,
            will_retain=False,
            will_topic="",
            will_message="",
            payload_in_urc=True,
            length_field=True,
            product_key="",
            device_name="",
            device_secret="",
        ),
        1: ClientConfig(
            1,
            version=3,
            pdpcid=16,
            ssl_enabled=True,
            ssl_ctx=5,
            keepalive=290,
            clean_session=False,
            pkt_timeout=60,
            retries=10,
            timeout_notice=True,
            will_enabled=True,
            will_qos=2,
            will_retain=True,
            will_topic="dev/lwt",
            will_message="bye: now, really",
            payload_in_urc=False,
            length_field=False,
            product_key="pk1",
            device_name="dev 1",
            device_secret="s3cr3t",
        ),
    }
    assert "s3cr3t" not in repr(configs[1])


def test_parse_config_block_ignores_other_lines() -> None:
    """Text before the first client header and non-numeric MQTTCFG lines are skipped."""
    lines: list[ResultLine | TextLine] = [
        TextLine("version:3"),
        ResultLine("MQTTCFG", ("version", "(0-5)"), '+MQTTCFG: "version", (0-5)'),
        ResultLine("MQTTCFG", ("2",), "+MQTTCFG: 2"),
        TextLine("keepalive:abc version:4"),
    ]
    assert parse_config_block(lines) == {2: ClientConfig(2, version=4)}
