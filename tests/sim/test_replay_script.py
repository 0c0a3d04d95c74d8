"""Recordings and their playback script, in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from nm28_async.engine.recorder import Recorder
from nm28_async.engine.tap import WireTap
from nm28_async.protocol.recording import Record
from nm28_async.sim.replay import ReplayScript
from nm28_async.sim.replay import read_recording as read

SESSION = [
    Record(0.0, "rx", b"\r\nRDY\r\n"),
    Record(0.5, "tx", b"AT\r"),
    Record(0.51, "rx", b"\r\nOK\r\n"),
    Record(1.0, "tx", b'AT+MQTTCONN=0,"id","user","***"\r'),
    Record(1.2, "rx", b"\r\nOK\r\n"),
    Record(3.0, "rx", b"\r\n+MQTTCONN: 0,0,0\r\n"),
    Record(4.0, "tx", b'AT+MQTTPUBEX=0,1,0,0,0,"t",2\r'),
    Record(4.1, "rx", b"\r\nCONNECT\r\n"),
    Record(4.2, "tx", b"hi\x1a"),
    Record(4.3, "rx", b"\r\n+MQTTPUBEX: 0,1,0\r\n\r\nOK\r\n"),
]


def timed(replies: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    """Delays to the millisecond, so that recorded times compare exactly."""
    return [(round(delay, 3), data) for delay, data in replies]


def test_the_module_says_what_it_said_after_each_unit_at_its_times() -> None:
    script = ReplayScript(SESSION)
    assert script.opening == [(0.0, b"\r\nRDY\r\n")]
    assert timed(script.host_wrote(b"AT\r")) == [(0.01, b"\r\nOK\r\n")]
    answer = timed(script.host_wrote(b'AT+MQTTCONN=0,"id","user","another secret"\r'))
    assert answer == [
        (0.2, b"\r\nOK\r\n"),
        (2.0, b"\r\n+MQTTCONN: 0,0,0\r\n"),
    ]
    assert timed(script.host_wrote(b'AT+MQTTPUBEX=0,1,0,0,0,"t",2\r')) == [
        (0.1, b"\r\nCONNECT\r\n")
    ]
    assert not script.done
    assert timed(script.host_wrote(b"h")) == []  # a unit ends at its Ctrl-Z
    assert timed(script.host_wrote(b"i\x1a")) == [(0.1, b"\r\n+MQTTPUBEX: 0,1,0\r\n\r\nOK\r\n")]
    assert script.done


def test_a_unit_the_recording_does_not_have_next_gets_error_and_waits() -> None:
    script = ReplayScript(SESSION)
    assert timed(script.host_wrote(b"AT+CSQ\r")) == [(0.0, b"\r\nERROR\r\n")]
    assert timed(script.host_wrote(b"\r\nAT\r")) == [(0.01, b"\r\nOK\r\n")]


def test_a_secret_mask_matches_no_quote() -> None:
    """A masked password matches any password, not a line that ends its quote early."""
    script = ReplayScript(SESSION)
    script.host_wrote(b"AT\r")
    assert timed(script.host_wrote(b'AT+MQTTCONN=0,"id","user","x","y"\r')) == [
        (0.0, b"\r\nERROR\r\n")
    ]


def test_recorder_masks_secrets_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    tap = WireTap(Recorder(path))
    tap.mask(["hunter2"])
    tap.tx(b'AT+MQTTCONN=0,"id","user","hunter2"\r')
    tap.rx(b"\r\n\xff\x00binary hunter2\r\n")
    tap.close()
    assert b"hunter2" not in path.read_bytes()
    records = list(read(path))
    assert [r.direction for r in records] == ["tx", "rx"]
    assert records[0].data == b'AT+MQTTCONN=0,"id","user","***"\r'
    assert records[1].data == b"\r\n\xff\x00binary ***\r\n"
    assert records[0].t <= records[1].t


@pytest.mark.parametrize(
    "line", ["not json", '{"t": 1, "dir": "up", "data": ""}', '{"t": 1, "dir": "rx"}']
)
def test_a_line_that_is_no_record_is_named(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        list(read(path))
