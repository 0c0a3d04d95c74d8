"""The driver's wire log as people read it: the timestamped trace of `-v` and the demo's one
line per command (pure: log records in, lines out)."""

from __future__ import annotations

import logging
import re

from nm28_async.tools.wire_view import Exchanges, TraceFormatter


def record(message: str, name: str = "nm28_async.wire", level: int = logging.DEBUG) -> str:
    return TraceFormatter().format(logging.LogRecord(name, level, "x", 1, message, None, None))


def test_the_trace_is_one_timestamped_arrowed_line_per_line_on_the_wire() -> None:
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} → AT\+CSQ", record("TX AT+CSQ"))
    lines = record(r"RX \r\n+CSQ: 24,99\r\n\r\nOK\r\n").splitlines()
    assert [line[13:] for line in lines] == ["← +CSQ: 24,99", "← OK"]
    assert record(r"RX \r\n")[13:] == "← (line end)"
    assert record("synchronised", name="nm28_async")[13:] == "· synchronised"
    warned = record("link lost", name="nm28_async", level=logging.WARNING)
    assert warned[13:] == "· warning: link lost"


def fold(*messages: str) -> list[tuple[str, str]]:
    exchanges = Exchanges()
    shown = [line for message in messages for line in exchanges.feed(message)]
    return shown + exchanges.flush()


def test_a_command_and_its_answer_are_one_line_without_the_echo() -> None:
    assert fold("TX AT+CSQ", r"RX AT+CSQ\r\r\n+CSQ: 24,99\r\n", r"RX \r\nOK\r\n") == [
        ("→", "AT+CSQ · +CSQ: 24,99 · OK")
    ]
    published = fold(
        'TX AT+MQTTPUBEX=0,3,1,0,0,"t",2', r"RX \r\nCONNECT\r\n", "TX <payload 3 bytes>",
        r"RX \r\n+MQTTPUBEX: 0,3,0\r\n\r\nOK\r\n",
    )  # fmt: skip
    line = 'AT+MQTTPUBEX=0,3,1,0,0,"t",2 · CONNECT · 3 bytes · +MQTTPUBEX: 0,3,0 · OK'
    assert published == [("→", line)]


def test_what_belongs_to_no_command_stands_alone() -> None:
    assert fold(
        'TX AT+MQTTOPEN=0,"h",1883',
        r"RX \r\n+MQTTRECV: 1,2,a/b,2,hi\r\n\r\nOK\r\n",  # a message, then the command's OK
        r"RX \r\n+MQTTOPEN: 0,0\r\n",  # its result, after OK
        r"RX \r\nRDY\r\n",
    ) == [
        ("←", "+MQTTRECV: 1,2,a/b,2,hi"),
        ("→", 'AT+MQTTOPEN=0,"h",1883 · OK'),
        ("←", "+MQTTOPEN: 0,0"),
        ("←", "RDY"),
    ]


def test_a_command_left_without_its_final_code_shows_when_the_next_is_sent() -> None:
    assert fold("TX AT+MQTTCONN?", "TX AT", r"RX \r\nOK\r\n") == [
        ("→", "AT+MQTTCONN?"),
        ("→", "AT · OK"),
    ]
    assert fold("RX +CME ERROR: 50", "not the wire") == [("←", "+CME ERROR: 50")]
