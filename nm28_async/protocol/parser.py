"""Incremental parser of the module's output: bytes in, events out, whatever the chunking.

Lines end at CR or LF; blank lines vanish. `+MQTTRECV` payloads are read by their declared
byte length, across embedded line breaks, as protocol-notes.md decides. Each chunk is scanned
with regular expressions over the buffer, never byte by byte in Python.
"""

from __future__ import annotations

import re

from .events import (
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

MAX_LINE = 16 * 1024
"""A line longer than this without a line end is noise: it is dropped up to the next line end."""

MAX_RECV_PAYLOAD = 64 * 1024
"""A declared +MQTTRECV length above this is not trusted to span lines (sync protection)."""

MAX_RECV_LINE = MAX_RECV_PAYLOAD + 1024
"""A +MQTTRECV longer than this (header and payload) is noise, as MAX_LINE is for others."""

_TOPIC_CACHE_SIZE = 1024

_LINE_END = re.compile(rb"[\r\n]")
_NOT_LINE_END = re.compile(rb"[^\r\n ]")
# Numbers are bounded: a field of thousands of digits is noise, never an int() to compute.
# One space after the packet id's comma is a separator (the manual prints `0,1, topic`);
# any further space belongs to the topic.
_RECV_HEAD = re.compile(rb"\+MQTTRECV: *(\d{1,5}) *,( *)(\d{1,5}) *,( ?)")
# Where a length field may sit after the topic: `,<n>,` (unquoted topic) or `",<n>,` (quoted
# topic). Zero-width, so that overlapping candidates (`,1,2,`) are all found.
_BARE_LENGTH = re.compile(rb"(?=, *(\d{1,9}) *(,))")
_QUOTED_LENGTH = re.compile(rb'(?=" *, *(\d{1,9}) *(,))')
# msg_rcv_mode 1: the line ends with the length and the payload is not included.
_TRAILING_LENGTH = re.compile(rb"(.*), *(\d{1,9}) *", re.DOTALL)
# The common case in one match: header, a topic without commas or quotes, and the length.
# Every run is bounded, so that the header stays under 1 KiB and a frame it takes (its
# payload at most MAX_RECV_PAYLOAD) is never longer than MAX_RECV_LINE.
_RECV_FAST = re.compile(
    rb"[\r\n ]*\+MQTTRECV: {0,4}([0-5]) {0,4},( {0,4})(\d{1,5}) {0,4},( ?)"
    rb'(?:"([^"\r\n]{0,512})" {0,4}|([^,"\r\n]{0,512})), {0,4}(\d{1,9}) {0,4},'
)
# The same frames in the compact spelling only (no spaces, a bare topic): a lighter match.
_RECV_COMPACT = re.compile(
    rb'[\r\n ]*\+MQTTRECV: ?([0-5]),(\d{1,5}),([^ ,"\r\n][^,"\r\n]{0,511}),(\d{1,9}),'
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_RESULT = re.compile(r"(?:AT)?\+([A-Za-z0-9_]+): *(.*)", re.DOTALL | re.IGNORECASE)
_FIELD = re.compile(r' *(?:"([^"]*)"|(\([^)]*\)|[^,]*?)) *(?:,|$)')
_CONNECT = re.compile(r"CONNECT(?: \d+)?")

_PROMPT = Prompt()
_OK = Final(FinalKind.OK)
_LONE_OK = b"\r\nOK\r\n"
"""The whole of most chunks a command round trip reads."""
_ERROR = Final(FinalKind.ERROR)
_CR, _LF, _GT, _SP, _QUOTE = 13, 10, 0x3E, 0x20, 0x22
_CR_LF = (_CR, _LF)
_O = 0x4F
_ENDS = (b"\r", b"\n")
_NEED_DATA = -1


def split_fields(text: str) -> tuple[str, ...]:
    """Split `a, "b,c" ,(1, 2)` into ('a', 'b,c', '(1, 2)').

    Commas inside quotes or inside a test command's parenthesised range do not split.
    """
    if not text:
        return ()
    fields: list[str] = []
    pos = 0
    while pos <= len(text):
        m = _FIELD.match(text, pos)
        if m is None or m.end() == pos:
            break
        fields.append(m.group(1) if m.group(1) is not None else m.group(2))
        pos = m.end()
    return tuple(fields)


def classify_line(line: bytes) -> Event | None:
    """Turn one complete line (without its line end) into an event; None for a blank line."""
    line = line.strip()
    if not line:
        return None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return Garbage(line, "invalid UTF-8")
    if _CONTROL.search(text):
        return Garbage(line, "control bytes in line")
    if text == "OK":
        return _OK
    if text == "ERROR":
        return _ERROR
    if text.startswith("+CME ERROR:"):
        return Final(FinalKind.CME_ERROR, text[11:].strip())
    if text.startswith("+CMS ERROR:"):
        return Final(FinalKind.CMS_ERROR, text[11:].strip())
    if _CONNECT.fullmatch(text):
        return _PROMPT
    head = text[:2].upper()
    if head == "AT" or text[0] == "+":
        m = _RESULT.match(text)
        if m is not None:
            return ResultLine(m.group(1).upper(), split_fields(m.group(2)), text)
        if head == "AT":
            return Echo(text)
    return TextLine(text)


class Parser:
    """Feed it bytes as they arrive; it returns the events completed so far."""

    def __init__(self) -> None:
        self._buffer = b""
        self._discarding = False
        self._deciding_now = False
        self.awaiting_frame = False
        """A +MQTTRECV waits for bytes its declared length promises (see `end_frame`)."""
        self.only_messages = False
        """Whether every event of the last `feed` was a message for a client 0..5."""
        self._length_field: dict[int, bool] = {}
        self._topics: dict[bytes, str] = {}

    def set_length_field(self, client_index: int, enabled: bool | None) -> None:
        """Tell the parser whether a client's +MQTTRECV carries a length (None: detect it)."""
        if enabled is None:
            self._length_field.pop(client_index, None)
        else:
            self._length_field[client_index] = enabled

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a line or payload."""
        return len(self._buffer)

    def end_frame(self) -> list[Event]:
        """The stream went quiet while a +MQTTRECV waited for its declared bytes: decide it
        with what has arrived (its first line, flagged), and parse the rest as lines.

        A module prints a frame in one go, so silence in the middle of one means the length
        was wrong (a firmware bug or a corrupted digit): a quiet gap bounds what it costs.
        """
        self._deciding_now = True
        try:
            return self.feed(b"")
        finally:
            self._deciding_now = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[Event]:
        if data == _LONE_OK and not self._buffer and not self._discarding:
            # A command's answer in a chunk of its own, nothing pending: what the general
            # path gives, without its scan (a command round trip waits for this).
            self.awaiting_frame = self.only_messages = False
            return [_OK]
        # An immutable buffer: a payload is one slice (one copy), and only the tail a chunk
        # leaves unfinished is kept for the next one.
        buf = self._buffer + data if self._buffer else bytes(data)
        events: list[Event] = []
        self.awaiting_frame = False
        pos = 0
        if self._discarding:
            e = _LINE_END.search(buf)
            if e is None:
                self._buffer = b""
                return events
            pos = e.start()
            self._discarding = False
        pos, fast = self._scan(buf, pos, events)
        self._buffer = buf[pos:]
        self.only_messages = fast == len(events)
        return events

    def _scan(self, buf: bytes, pos: int, events: list[Event]) -> tuple[int, int]:
        """Parse from `pos`; return where the unfinished tail starts, and how many events
        the common frame's path made."""
        size = len(buf)
        append = events.append
        compact = _RECV_COMPACT.match
        fast = _RECV_FAST.match
        topics = self._topics
        lengths = self._length_field
        new = tuple.__new__
        taken = 0
        while pos < size:
            # The common frame, inline: a topic without commas, a payload that ends where its
            # length says. The compact form (the simulator's, most firmware's) is matched by a
            # lighter pattern first. Anything else goes the general way, which reaches the
            # same verdict on everything taken here.
            m = compact(buf, pos)
            if m is not None:
                index_t, packet_t, raw, declared_t = m.groups()
                start = m.end()
                spaced = False
            else:
                m = fast(buf, pos)
                if m is not None:
                    index_t, space1, packet_t, space2, quoted, bare, declared_t = m.groups()
                    raw = bare if quoted is None else quoted
                    start = m.end()
                    spaced = False
                    if space1 or space2:
                        spaced = start < size and buf[start] == _SP
                        start += spaced
            if m is not None:
                end = start + int(declared_t)
                index = index_t[0] - 0x30  # one digit, 0..5
                if (
                    end < size
                    and buf[end] in _CR_LF
                    and (end == start or buf[start] != _QUOTE)
                    and not (spaced and buf[end - 1] in _CR_LF)
                    and end - start <= MAX_RECV_PAYLOAD
                    and (not lengths or lengths.get(index) is not False)
                ):
                    topic = topics.get(raw) or self._topic(raw)
                    append(new(Message, (index, int(packet_t), topic, buf[start:end], False)))
                    taken += 1
                    pos = end
                    continue
            m = _NOT_LINE_END.search(buf, pos)
            if m is None:
                return size, taken
            pos = m.start()
            first = buf[pos]
            if first == _O and buf.startswith(b"OK", pos) and buf[pos + 2 : pos + 3] in _ENDS:
                append(_OK)  # the commonest line, without classifying it
                pos += 2
                continue
            if first == _GT:
                append(_PROMPT)
                pos += 1
                continue
            if first == 0x2B and buf.startswith(b"+MQTTRECV", pos):
                end = self._recv(buf, pos, events)
                if end < 0:
                    self.awaiting_frame = True
                    return pos, taken
                pos = end
                continue
            e = _LINE_END.search(buf, pos)
            if e is None:
                if size - pos > MAX_LINE:
                    append(Garbage(buf[pos : pos + 64], "overlong line dropped"))
                    self._discarding = True
                    return size, taken
                return pos, taken
            if e.start() - pos > MAX_LINE:
                # The same verdict a chunked feed reaches before the line end arrives.
                append(Garbage(buf[pos : pos + 64], "overlong line dropped"))
                pos = e.start()
                continue
            event = classify_line(buf[pos : e.start()])
            if event is not None:
                append(event)
            pos = e.start()
        return pos, taken

    def _topic(self, raw: bytes) -> str:
        """The topic as str: UTF-8, with any other byte kept as a surrogate escape, so that
        `topic.encode("utf-8", "surrogateescape")` gives the broker's bytes back."""
        topic = self._topics.get(raw)
        if topic is None:
            topic = raw.decode("utf-8", "surrogateescape")
            if len(self._topics) < _TOPIC_CACHE_SIZE:
                self._topics[raw] = topic
        return topic

    def _recv(self, buf: bytes, pos: int, events: list[Event]) -> int:
        """Parse a +MQTTRECV at `pos`; return where it ends, or -1 when more bytes are needed.

        The declared length delimits the frame: no byte inside it is read as module output.
        A topic may hold commas, so each `,<n>,` after it is a candidate length field; the
        frame is the leftmost candidate whose `<n>` bytes end exactly at a line end.
        """
        line_end_match = _LINE_END.search(buf, pos)
        if line_end_match is None:
            if len(buf) - pos > MAX_RECV_LINE:
                events.append(Garbage(buf[pos : pos + 64], "overlong line dropped"))
                self._discarding = True
                return len(buf)
            return _NEED_DATA
        line_end = line_end_match.start()
        if line_end - pos > MAX_RECV_LINE:
            events.append(Garbage(buf[pos : pos + 64], "overlong line dropped"))
            return line_end
        head = _RECV_HEAD.match(buf, pos, line_end)
        if head is None:
            events.append(Garbage(buf[pos:line_end], "malformed +MQTTRECV"))
            return line_end
        index, packet_id = int(head.group(1)), int(head.group(3))
        spaced = bool(head.group(2) or head.group(4))
        frame = _Frame(buf, pos, index, packet_id, head.end(), line_end, spaced)
        mode = self._length_field.get(index)
        if mode is not False:
            for candidate in frame.candidates():
                found = frame.payload_at(candidate, self._deciding_now)
                if found is _UNDECIDED:
                    if not self._deciding_now:
                        return _NEED_DATA
                elif found is not None:
                    payload_start, payload_end, end = found
                    topic = self._topic(frame.topic_before(candidate))
                    payload = buf[payload_start:payload_end]
                    events.append(Message(index, packet_id, topic, payload))
                    return end
        return self._recv_fallback(frame, mode, events)

    def _recv_fallback(self, frame: _Frame, mode: bool | None, events: list[Event]) -> int:
        """No declared length ends at a line end: the first line decides.

        With a length field where the topic ends at its first comma (or closing quote), the
        length was wrong: the line is delivered whole, flagged. `<topic>,<n>` at the line end
        announces a message without its payload. Otherwise there is no length field and the
        payload is the rest of the line.
        """
        buf, line_end = frame.buf, frame.line_end
        index, packet_id = frame.index, frame.packet_id
        first = frame.first_field()
        if first is None:
            events.append(Garbage(buf[frame.start : line_end], "malformed +MQTTRECV"))
            return line_end
        topic_raw, after = first
        if mode is not False:
            length = _LENGTH_AFTER_TOPIC.match(buf, after, line_end)
            if length is not None:
                payload = buf[frame.skip_separator(length.end()) : line_end]
                events.append(Message(index, packet_id, self._topic(topic_raw), payload, True))
                return line_end
            trailing = _TRAILING_LENGTH.fullmatch(buf, frame.topic_start, line_end)
            if trailing is not None:
                raw = trailing.group(1)
                quoted = frame.quoted and len(raw) > 1 and raw.endswith(b'"')
                topic = self._topic(raw[1:-1] if quoted else raw)
                events.append(RecvNotice(index, packet_id, topic, int(trailing.group(2))))
                return line_end
            if mode:
                events.append(Garbage(buf[frame.start : line_end], "+MQTTRECV without length"))
                return line_end
        payload = buf[frame.skip_separator(after) : line_end]
        events.append(Message(index, packet_id, self._topic(topic_raw), payload))
        return line_end


_LENGTH_AFTER_TOPIC = re.compile(rb" *(\d{1,9}) *,")
_UNDECIDED = (-1, -1, -1)
"""`_Frame.payload_at`: the bytes that decide this candidate have not arrived yet."""


class _Frame:
    """One +MQTTRECV being decided: where its topic starts, its first line ends, and where
    each candidate length field would put its payload."""

    def __init__(
        self, buf: bytes, start: int, index: int, packet_id: int, topic_start: int,
        line_end: int, spaced: bool,
    ) -> None:  # fmt: skip
        self.buf = buf
        self.start = start
        self.index = index
        self.packet_id = packet_id
        self.topic_start = topic_start
        self.line_end = line_end
        self.spaced = spaced
        self.quoted = topic_start < line_end and buf[topic_start] == _QUOTE

    def candidates(self) -> list[re.Match[bytes]]:
        """Every place a length field may sit after the topic, leftmost first: after a
        closing quote when the topic is quoted, then after a topic read as bare bytes."""
        buf, line_end = self.buf, self.line_end
        bare = list(_BARE_LENGTH.finditer(buf, self.topic_start, line_end))
        if self.quoted:
            return [*_QUOTED_LENGTH.finditer(buf, self.topic_start + 1, line_end), *bare]
        return bare

    def topic_before(self, candidate: re.Match[bytes]) -> bytes:
        if candidate.re is _QUOTED_LENGTH:
            return self.buf[self.topic_start + 1 : candidate.start()]
        return self.buf[self.topic_start : candidate.start()]

    def skip_separator(self, at: int) -> int:
        """A module that puts a space after each comma puts one before the payload too."""
        return at + 1 if self.spaced and at < self.line_end and self.buf[at] == _SP else at

    def first_field(self) -> tuple[bytes, int] | None:
        """The topic read up to its first comma (or closing quote and comma), and the index
        after that comma; None when the line has no comma after the topic."""
        buf, line_end = self.buf, self.line_end
        if self.quoted:
            close = buf.find(b'"', self.topic_start + 1, line_end)
            comma = -1 if close < 0 else buf.find(b",", close, line_end)
            if comma >= 0 and not buf[close + 1 : comma].strip(b" "):
                return buf[self.topic_start + 1 : close], comma + 1
        comma = buf.find(b",", self.topic_start, line_end)
        if comma < 0:
            return None
        return buf[self.topic_start : comma], comma + 1

    def payload_at(self, candidate: re.Match[bytes], final: bool) -> tuple[int, int, int] | None:
        """(payload start, payload end, frame end) if this candidate's declared length ends
        exactly at a line end; None if it cannot; `_UNDECIDED` until the bytes are here
        (unless `final`: the stream went quiet, and a reading that needs more bytes is out).

        Tried in order: a quoted payload (the length counts it without its quotes); the
        payload ending at the first line end, after the separator space or with it; then
        a payload that spans line breaks, which only a trusted length may do.
        """
        buf, line_end, size = self.buf, self.line_end, len(self.buf)
        declared = int(candidate.group(1))
        at = candidate.start(2) + 1
        start = self.skip_separator(at)
        if start < size and buf[start] == _QUOTE and declared <= MAX_RECV_PAYLOAD:
            close = start + 1 + declared
            if close + 1 >= size and not final:
                if close >= size or buf[close] == _QUOTE:
                    return _UNDECIDED
            elif close + 1 < size and buf[close] == _QUOTE and buf[close + 1] in (_CR, _LF):
                return start + 1, close, close + 1
        if start + declared == line_end:
            return start, line_end, line_end
        if start != at and at + declared == line_end:
            return at, line_end, line_end
        end = start + declared
        if end < line_end or declared > MAX_RECV_PAYLOAD:
            return None
        if end >= size:
            return _UNDECIDED
        return (start, end, end) if buf[end] in (_CR, _LF) else None
