"""The bytes the benchmark module says: `+MQTTRECV` frames and the bench-only commands.

Producer and consumers both import this module, so they agree on every count and length.
"""

from __future__ import annotations

from functools import lru_cache
from string import ascii_letters

OK = b"\r\nOK\r\n"
CONNECT = b"\r\nCONNECT\r\n"
CLIENTS = 6
"""Messages are spread round robin over this many client indexes unless told otherwise."""


def topic(index: int) -> str:
    return f"bench/{index}"


@lru_cache(maxsize=16)
def payload(size: int) -> bytes:
    """Printable bytes (no CR, LF or comma), so every frame is one line for line readers."""
    letters = ascii_letters.encode()
    return (letters * (size // len(letters) + 1))[:size]


def _head(index: int, packet_id: int, size: int) -> bytes:
    return f"\r\n+MQTTRECV: {index},{packet_id},{topic(index)},{size},".encode()


def frame(index: int, packet_id: int, size: int) -> bytes:
    """One `+MQTTRECV` URC with its length field, framed by CRLF as the module sends it."""
    return _head(index, packet_id, size) + payload(size) + b"\r\n"


def stream(count: int, size: int, clients: int = CLIENTS) -> bytes:
    """`count` frames, client index round robin over `clients`, packet ids 1..65535."""
    return b"".join(frame(i % clients, i % 65535 + 1, size) for i in range(count))


@lru_cache(maxsize=64)
def stream_length(count: int, size: int, clients: int = CLIENTS) -> int:
    """len(stream(...)) without building it."""
    heads = sum(len(_head(i % clients, i % 65535 + 1, size)) for i in range(count))
    return heads + count * (size + 2)


def prepare_line(count: int, size: int, clients: int = CLIENTS, rate: float = 0.0) -> str:
    """Make the responder build a stream (it answers OK once it is ready)."""
    return f"AT+PREP={count},{size},{clients},{rate:g}"


STREAM_LINE = "AT+STREAM"
"""Answered with OK, then the prepared stream follows as fast as the line takes it."""


def config_line(ack_latency: float, result_after_ok: bool) -> str:
    """Configure how the responder acknowledges `AT+MQTTPUBEX`."""
    return f"AT+ACKCFG={ack_latency * 1000:g},{int(result_after_ok)}"


def pubex_result(index: int, msg_id: int) -> bytes:
    return f"\r\n+MQTTPUBEX: {index},{msg_id},0\r\n".encode()
