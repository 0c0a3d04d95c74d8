"""StreamMask: a secret split across reads, at every byte, never shows."""

from __future__ import annotations

import pytest

from nm28_async.protocol.redact import MASK, StreamMask

ECHO = b'AT+MQTTCONN=0,"id","user","hunter2-secret"\r\r\nOK\r\n'


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_a_secret_echoed_in_pieces_is_masked(size: int) -> None:
    mask = StreamMask()
    mask.add(["hunter2-secret"])
    shown = b"".join(mask.feed(ECHO[i : i + size]) for i in range(0, len(ECHO), size))
    shown += mask.flush()
    assert b"hunter2" not in shown
    assert shown == ECHO.replace(b"hunter2-secret", MASK.encode())


@pytest.mark.parametrize("cut", range(1, len(ECHO)))
def test_a_secret_cut_anywhere_is_masked(cut: int) -> None:
    mask = StreamMask()
    mask.add(["hunter2-secret"])
    shown = mask.feed(ECHO[:cut]) + mask.feed(ECHO[cut:]) + mask.flush()
    assert shown == ECHO.replace(b"hunter2-secret", MASK.encode())


def test_what_only_looks_like_a_secret_is_given_up_in_order() -> None:
    mask = StreamMask()
    mask.add(["hunter2"])
    assert mask.feed(b"say hun") == b"say "
    assert mask.feed(b"dred") == b"hundred"
    assert mask.feed(b" hunt") == b" "
    assert mask.flush() == b"hunt"


def test_without_secrets_bytes_pass_at_once() -> None:
    mask = StreamMask()
    assert mask.feed(b"AT+CSQ\r") == b"AT+CSQ\r"
    assert mask.flush() == b""
