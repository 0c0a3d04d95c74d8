"""The recording format: every byte each way, with its time (`Modem.open(record=...)`).

One JSON object a line: `{"t": <seconds since the recording began>, "dir": "tx" | "rx",
"data": "<the bytes, as latin-1 text>"}`. Latin-1 keeps every byte (JSON escapes the ones
that are not printable), so a field log of a firmware quirk can be read, and played back by
`nm28 sim --replay` as the module's side of the conversation. The driver writes it, the
virtual NM28 reads it; this is the one place that knows its shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

Direction = Literal["tx", "rx"]


@dataclass(frozen=True, slots=True)
class Record:
    """What went one way at one moment: `tx` the host wrote, `rx` the module said."""

    t: float
    direction: Direction
    data: bytes


def encode_record(record: Record) -> str:
    """One line of the file, with its line end."""
    data = record.data.decode("latin-1")
    return json.dumps({"t": round(record.t, 6), "dir": record.direction, "data": data}) + "\n"


def decode_record(line: str) -> Record:
    """The record a line holds; ValueError saying what is wrong with it."""
    try:
        fields = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(fields, dict):
        raise ValueError("not a JSON object")
    direction, data, t = fields.get("dir"), fields.get("data"), fields.get("t")
    if direction not in ("tx", "rx"):
        raise ValueError(f"dir must be tx or rx, got {direction!r}")
    if not isinstance(data, str):
        raise ValueError(f"data must be a string, got {data!r}")
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise ValueError(f"t must be a number of seconds, got {t!r}")
    try:
        raw = data.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("data holds a character above U+00FF (not a byte)") from None
    return Record(float(t), direction, raw)
