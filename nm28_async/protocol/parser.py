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
    MqttRecv,
    Prompt,
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
_RECV_HEAD = re.compile(
    rb'\+MQTTRECV: *(\d+) *, *(\d+) *, *(?:"([^"\r\n]*)"|([^,"\r\n]*)) *,'
)
_LEN_FIELD = re.compile(rb"( *)(\d+) *(?:(,)|(?=[\r\n]))")
# The common case in one match: header, topic and length up to the payload's comma.
_RECV_FAST = re.compile(
    rb'\+MQTTRECV: *(\d+) *,( *)(\d+) *,( *)(?:"([^"\r\n]*)"|([^,"\r\n]*)) *, *(\d+) *,'
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_RESULT = re.compile(r"(?:AT)?\+([A-Za-z0-9_]+): *(.*)", re.DOTALL | re.IGNORECASE)
_FIELD = re.compile(r' *(?:"([^"]*)"|(\([^)]*\)|[^,]*?)) *(?:,|$)')
_CONNECT = re.compile(r"CONNECT(?: \d+)?")

_PROMPT = Prompt()
_OK = Final(FinalKind.OK)
_ERROR = Final(FinalKind.ERROR)
_CR, _LF, _GT, _SP = 13, 10, 0x3E, 0x20


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
        self._buffer = bytearray()
        self._discarding = False
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

    def feed(self, data: bytes | bytearray | memoryview) -> list[Event]:
        buf = self._buffer
        buf += data
        events: list[Event] = []
        if self._discarding and not self._skip_overlong(buf):
            return events
        pos = 0
        size = len(buf)
        while pos < size:
            m = _NOT_LINE_END.search(buf, pos)
            if m is None:
                pos = size
                break
            pos = m.start()
            first = buf[pos]
            if first == _GT:
                events.append(_PROMPT)
                pos += 1
                continue
            if first == 0x2B:
                fast = _RECV_FAST.match(buf, pos)
                if fast is not None:
                    end = self._recv_fast(buf, pos, size, fast, events)
                    if end >= 0:
                        pos = end
                        continue
                if buf.startswith(b"+MQTTRECV", pos):
                    end = self._recv(buf, pos, events)
                    if end < 0:
                        break
                    pos = end
                    continue
            e = _LINE_END.search(buf, pos)
            if e is None:
                if size - pos > MAX_LINE:
                    events.append(Garbage(bytes(buf[pos : pos + 64]), "overlong line dropped"))
                    pos = size
                    self._discarding = True
                break
            if e.start() - pos > MAX_LINE:
                # The same verdict a chunked feed reaches before the line end arrives.
                events.append(Garbage(bytes(buf[pos : pos + 64]), "overlong line dropped"))
                pos = e.start()
                continue
            event = classify_line(bytes(buf[pos : e.start()]))
            if event is not None:
                events.append(event)
            pos = e.start()
        del buf[:pos]
        return events

    def _skip_overlong(self, buf: bytearray) -> bool:
        """Drop the rest of an overlong line; True once its line end has been reached."""
        e = _LINE_END.search(buf)
        if e is None:
            buf.clear()
            return False
        del buf[: e.start()]
        self._discarding = False
        return True

    def _recv(self, buf: bytearray, pos: int, events: list[Event]) -> int:
        """Parse a +MQTTRECV at `pos`; return where it ends, or -1 when more bytes are needed.

        This is the general path: it decides whatever `_recv_fast` does not take, the same
        way however the stream was chunked.
        """
        line_end = _LINE_END.search(buf, pos)
        if line_end is None:
            if len(buf) - pos > MAX_RECV_LINE:
                events.append(Garbage(bytes(buf[pos : pos + 64]), "overlong line dropped"))
                self._discarding = True
                return len(buf)
            return -1
        if line_end.start() - pos > MAX_RECV_LINE:
            events.append(Garbage(bytes(buf[pos : pos + 64]), "overlong line dropped"))
            return line_end.start()
        head = _RECV_HEAD.match(buf, pos, line_end.start())
        if head is None:
            events.append(Garbage(bytes(buf[pos : line_end.start()]), "malformed +MQTTRECV"))
            return line_end.start()
        index = int(head.group(1))
        packet_id = int(head.group(2))
        topic_bytes = head.group(3) if head.group(3) is not None else head.group(4).rstrip(b" ")
        try:
            topic = topic_bytes.decode("utf-8")
        except UnicodeDecodeError:
            events.append(Garbage(bytes(buf[pos : line_end.start()]), "topic is not UTF-8"))
            return line_end.start()
        start = head.end()
        # Spacing style from the separators before the topic (a quoted topic may hold ", ").
        spaced = b", " in buf[pos : head.start(3) if head.group(3) is not None else head.start(4)]
        mode = self._length_field.get(index)
        length = _LEN_FIELD.match(buf, start, line_end.start() + 1) if mode is not False else None
        if length is None:
            if mode:
                events.append(
                    Garbage(bytes(buf[pos : line_end.start()]), "+MQTTRECV without length")
                )
                return line_end.start()
            skip = 1 if spaced and buf[start] == _SP else 0
            payload = bytes(buf[start + skip : line_end.start()])
            events.append(MqttRecv(index, packet_id, topic, payload))
            return line_end.start()
        declared = int(length.group(2))
        if length.group(3) is None:
            events.append(MqttRecv(index, packet_id, topic, b"", declared, payload_included=False))
            return length.end()
        return self._payload(buf, length.end(), line_end.start(), declared, spaced, events,
                             index, packet_id, topic)

    def _recv_fast(
        self, buf: bytearray, pos: int, size: int, m: re.Match[bytes], events: list[Event]
    ) -> int:
        """The common +MQTTRECV: jump over the payload by its declared length and check that
        a line end follows. Returns where it ends, or -1 to leave the line to `_recv`."""
        index_text, space1, packet_text, space2, quoted, bare, declared_text = m.groups()
        index = int(index_text)
        declared = int(declared_text)
        if declared > MAX_RECV_PAYLOAD or self._length_field.get(index) is False:
            return -1
        start = m.end()
        sep = 1 if (space1 or space2) and buf[start : start + 1] == b" " else 0
        end = start + sep + declared
        if end >= size or end - pos > MAX_RECV_LINE or buf[end] not in (_CR, _LF):
            return -1
        if sep and buf[end - 1] in (_CR, _LF):
            return -1  # is the space a separator or payload? the general path decides
        topic_bytes = quoted if quoted is not None else bare.rstrip(b" ")
        topic = self._topics.get(topic_bytes)
        if topic is None:
            try:
                topic = topic_bytes.decode("utf-8")
            except UnicodeDecodeError:
                return -1
            if len(self._topics) < _TOPIC_CACHE_SIZE:
                self._topics[topic_bytes] = topic
        payload = bytes(buf[start + sep : end])
        events.append(MqttRecv(index, int(packet_text), topic, payload, declared))
        return end

    @staticmethod
    def _payload(
        buf: bytearray,
        start: int,
        line_end: int,
        declared: int,
        spaced: bool,
        events: list[Event],
        index: int,
        packet_id: int,
        topic: str,
    ) -> int:
        """Read a declared-length payload starting at `start`; -1 when more bytes are needed."""
        tail = line_end - start
        sep = 1 if spaced and tail > 0 and buf[start] == _SP else 0
        if tail - sep == declared:
            payload_start, end, mismatch = start + sep, line_end, False
        elif sep and tail == declared:
            payload_start, end, mismatch = start, line_end, False
        elif tail - sep > declared or declared > MAX_RECV_PAYLOAD:
            payload_start, end, mismatch = start + sep, line_end, True
        else:
            payload_start = start + sep
            end = payload_start + declared
            if len(buf) <= end:
                return -1
            mismatch = buf[end] not in (_CR, _LF)
            if mismatch:
                # The line goes on past the declared length: deliver it whole, unless the
                # rest is itself an overlong line (then cut at the declared length).
                more = _LINE_END.search(buf, end, end + MAX_LINE + 1)
                if more is not None:
                    end = more.start()
                elif len(buf) - end <= MAX_LINE:
                    return -1
        events.append(
            MqttRecv(index, packet_id, topic, bytes(buf[payload_start:end]), declared, mismatch)
        )
        return end
