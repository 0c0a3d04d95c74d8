"""Atheris fuzz target for `nm28_async.protocol.parser.Parser`.

Run for a fixed time (seconds) from the project root:

    .venv/bin/python fuzz/fuzz_parser.py -max_total_time=30

Any libFuzzer flag works (`-runs=N`, `-max_len=8192`, `-jobs=4`, ...). Without a corpus
directory on the command line the target starts from built-in seeds (the manual's example
lines) in a temporary directory, so nothing is written into the tree; pass a directory of
your own to keep the corpus. A failing input is saved as `crash-*`; replay it with
`.venv/bin/python fuzz/fuzz_parser.py crash-<hash>`.

Input layout: byte 0 picks the +MQTTRECV length-field mode (auto, on, off), bytes 1..4 seed
the chunking, the rest is the module's output stream.

Invariants checked on every input:
* `feed` raises nothing (any exception other than the AssertionErrors below is a finding);
* feeding the stream in chunks gives exactly the events of one feed, and byte-at-a-time too;
* `Parser.buffered` never exceeds a +MQTTRECV head line, its largest trusted payload and an
  overlong tail (2 * MAX_LINE + MAX_RECV_PAYLOAD + 2);
* every event is one of the event types.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
from itertools import pairwise

import atheris

with atheris.instrument_imports():
    from nm28_async.protocol.events import (
        Echo,
        Event,
        Final,
        Garbage,
        Message,
        Prompt,
        RecvNotice,
        ResultLine,
        TextLine,
    )
    from nm28_async.protocol.parser import MAX_LINE, MAX_RECV_PAYLOAD, Parser

BUFFER_BOUND = 2 * MAX_LINE + MAX_RECV_PAYLOAD + 2
EVENT_TYPES = (Final, ResultLine, TextLine, Prompt, Echo, Message, RecvNotice, Garbage)
MODES: tuple[bool | None, ...] = (None, True, False)

SEEDS: list[bytes] = [
    b'AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883\r\n+MQTTOPEN:0,0\r\nOK\r\n',
    b"+MQTTCONN:0,0,0\r\nOK\r\n+MQTTSUB:0,1,0,1\r\nOK\r\n",
    b'+MQTTRECV: 0,1, valve_onoff_cmd, 40, {"taskId":5, "payload":{"valve_onoff":1}}\r\n',
    b'+MQTTRECV: 0, 1, TESTDOWN, 39, {"taskId":41, "payload":{"TESTINT1":10}}\r\n',
    b'+MQTTRECV:1,2,"a,b",5,ab\r\nc\r\nOK\r\n',
    b"+MQTTRECV: 0,1,t,12\r\n+MQTTRECV: 0,1,t,hello\r\n",
    b'AT+MQTTPUBEX=0,1,1,1,0,"data_report",16\r\nCONNECT\r\n+MQTTPUBEX:0,1,0\r\nOK\r\n',
    b'+MQTTCFG: 0\r\nversion:4\r\nproduct_key:""device_name:""device_secret:""\r\nOK\r\n',
    b'+MQTTCFG: "version", (0-5), (3, 4)\r\nAT+CTWINGPOSTVER:0\r\n+CME ERROR: 50\r\n> \r\n',
]


def feed_all(chunks: list[bytes], mode: bool | None) -> tuple[list[Event], Parser]:
    """Feed the chunks to a fresh parser; check the buffer bound after each feed."""
    parser = Parser()
    for index in range(6):
        parser.set_length_field(index, mode)
    events: list[Event] = []
    for chunk in chunks:
        events += parser.feed(chunk)
        assert parser.buffered <= BUFFER_BOUND, parser.buffered
    return events, parser


def test_one_input(data: bytes) -> None:
    """One fuzz iteration: whole feed, random chunks and byte-at-a-time must agree."""
    if len(data) < 5:
        return
    mode = MODES[data[0] % 3]
    rng = random.Random(int.from_bytes(data[1:5], "little"))
    stream = data[5:]
    whole, parser = feed_all([stream], mode)
    for event in whole:
        assert isinstance(event, EVENT_TYPES), event
    cuts = sorted(rng.randrange(len(stream) + 1) for _ in range(rng.randrange(1, 12)))
    bounds = [0, *cuts, len(stream)]
    chunked, chunked_parser = feed_all([stream[a:b] for a, b in pairwise(bounds)], mode)
    assert chunked == whole, (stream, cuts)
    assert chunked_parser.buffered == parser.buffered
    if len(stream) <= 4096:
        bytewise, _ = feed_all([stream[i : i + 1] for i in range(len(stream))], mode)
        assert bytewise == whole, stream


def main() -> None:
    """Start libFuzzer; add a temporary seed corpus when no directory was given."""
    argv = list(sys.argv)
    if not any(os.path.isdir(arg) for arg in argv[1:] if not arg.startswith("-")):
        corpus = tempfile.mkdtemp(prefix="nm28-fuzz-")
        for i, seed in enumerate(SEEDS):
            for mode in range(3):
                with open(os.path.join(corpus, f"seed{i}-{mode}"), "wb") as f:
                    f.write(bytes([mode, i, 0, 0, 0]) + seed)
        if not any(not arg.startswith("-") for arg in argv[1:]):  # not replaying a file
            argv.append(corpus)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
