"""Parsers of the radio's information lines (3GPP TS 27.007): registration, signal,
operator, attach, PDP contexts and addresses, into the values of `network`.

Pure functions of text: each takes a line as the parser gave it (`ResultLine`, `TextLine`)
or as a str (`+CEREG: 2,1,"1A2B","01A2B3C4",7`), and raises ValueError naming the line
when it is malformed, so that a caller can log it and skip it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

from .events import ResultLine, TextLine
from .network import (
    REGISTRATION_OF_STAT,
    TECHNOLOGY_OF_ACT,
    Cell,
    Registration,
    RegistrationChange,
    Signal,
    Technology,
)

AnswerLine = str | ResultLine | TextLine
"""A line as a command's answer holds it, or as text."""

_HEAD = re.compile(r"(?:AT)?\+([A-Za-z0-9_]+): *(.*)\Z", re.IGNORECASE | re.DOTALL)
_TOKEN = re.compile(r' *(?:"([^"]*)"|([^,"]*?)) *(,|\Z)')
_DECIMAL = re.compile(r"[0-9]{1,9}")
_HEX = re.compile(r"[0-9A-Fa-f]{1,16}")
_STAT_LIKE = re.compile(r"[0-9]{1,2}")
_OCTET = re.compile(r"[0-9]{1,3}")


class _Token(NamedTuple):
    text: str
    quoted: bool


def _text(line: AnswerLine) -> str:
    if isinstance(line, ResultLine):
        return line.raw
    if isinstance(line, TextLine):
        return line.text
    if isinstance(line, str):
        return line
    raise ValueError(f"not a line: {type(line).__name__}")


def _split(line: AnswerLine) -> tuple[str, tuple[_Token, ...], str]:
    """(NAME, fields with their quoting, the text): quoting is kept, as it tells a tac
    (`"1A2B"`) from a number; an empty last field is kept too (`7,,`)."""
    text = _text(line).strip()
    head = _HEAD.match(text)
    if head is None:
        raise ValueError(f"not a +NAME: line: {text!r}")
    body = head.group(2)
    tokens: list[_Token] = []
    pos = 0
    while body.strip():
        m = _TOKEN.match(body, pos)
        if m is None:
            raise ValueError(f"unbalanced quotes or stray text at {pos} in {text!r}")
        quoted = m.group(1) is not None
        tokens.append(_Token(m.group(1) if quoted else m.group(2), quoted))
        if not m.group(3):
            break
        pos = m.end()
    return head.group(1).upper(), tuple(tokens), text


def _expect(line: AnswerLine, *names: str) -> tuple[str, tuple[_Token, ...], str]:
    name, tokens, text = _split(line)
    if name not in names:
        raise ValueError(f"expected +{' or +'.join(names)}, got {text!r}")
    return name, tokens, text


def _int(token: _Token, what: str, text: str, allowed: range | None = None) -> int:
    if token.quoted or not _DECIMAL.fullmatch(token.text):
        raise ValueError(f"{what} {token.text!r} is not a number in {text!r}")
    value = int(token.text)
    if allowed is not None and value not in allowed:
        raise ValueError(
            f"{what} {value} is outside {allowed.start}..{allowed.stop - 1} in {text!r}"
        )
    return value


def _optional_int(tokens: tuple[_Token, ...], at: int, what: str, text: str) -> int | None:
    if at >= len(tokens) or not tokens[at].text:
        return None
    return _int(tokens[at], what, text)


def _hex(tokens: tuple[_Token, ...], at: int, what: str, text: str) -> str | None:
    if at >= len(tokens) or not tokens[at].text:
        return None
    if not _HEX.fullmatch(tokens[at].text):
        raise ValueError(f"{what} {tokens[at].text!r} is not hexadecimal in {text!r}")
    return tokens[at].text.upper()


def named_lines(lines: Iterable[AnswerLine], name: str) -> list[AnswerLine]:
    """The `+NAME:` lines among an answer's (text lines and other URCs left out)."""
    found: list[AnswerLine] = []
    for line in lines:
        if isinstance(line, ResultLine):
            if line.name == name:
                found.append(line)
        else:
            head = _HEAD.match(_text(line).strip())
            if head is not None and head.group(1).upper() == name:
                found.append(line)
    return found


# --- registration: +CREG, +CGREG, +CEREG, +C5GREG -------------------------------------


class _Layout(NamedTuple):
    """A domain's fields after `<stat>`, counted from `<stat>` (0): `<lac>`/`<tac>` 1,
    `<ci>` 2, `<AcT>` 3, then its own; the URC field counts 27.007 gives (a read answer
    has one more, its `<n>`); the largest `<n>`."""

    cause_type: int
    reject_cause: int
    urc_counts: frozenset[int]
    max_n: int


_LAYOUTS: dict[str, _Layout] = {
    # <stat>[,<lac>,<ci>[,<AcT>][,<cause_type>,<reject_cause>]]
    "CREG": _Layout(4, 5, frozenset({1, 3, 4, 6}), 3),
    # <stat>[,<lac>,<ci>,<AcT>[,<rac>][,<cause_type>,<reject_cause>[,<Active-Time>,
    # <Periodic-RAU>,<GPRS-READY-timer>]]]
    "CGREG": _Layout(5, 6, frozenset({1, 4, 5, 7, 10}), 5),
    # <stat>[,<tac>,<ci>,<AcT>[,<cause_type>,<reject_cause>[,<Active-Time>,<Periodic-TAU>]]]
    "CEREG": _Layout(4, 5, frozenset({1, 4, 6, 8}), 5),
    # <stat>[,<tac>,<ci>,<AcT>,<Allowed_NSSAI_length>,<Allowed_NSSAI>[,<cause_type>,
    # <reject_cause>]]; firmware that leaves out the NSSAI prints CEREG's four
    "C5GREG": _Layout(6, 7, frozenset({1, 4, 6, 8}), 5),
}
REGISTRATION_DOMAINS = ("C5GREG", "CEREG", "CGREG", "CREG")
"""The registration commands, newest radio first: the order to ask them in."""


class RegistrationLine(NamedTuple):
    """A registration line read in the form `registration_urc_or_read` decided: a read
    answer (`read`, with its `<n>`) or a URC (`n` None)."""

    change: RegistrationChange
    read: bool
    n: int | None


def _registration(domain: str, tokens: tuple[_Token, ...], text: str) -> RegistrationChange:
    """The fields from `<stat>` on (the same in both forms) as a change."""
    layout = _LAYOUTS[domain]
    if not tokens or not tokens[0].text:
        raise ValueError(f"no <stat> in {text!r}")
    stat = _int(tokens[0], "<stat>", text)
    area = _hex(tokens, 1, "<lac>/<tac>", text)
    cell_id = _hex(tokens, 2, "<ci>", text)
    act = _optional_int(tokens, 3, "<AcT>", text)
    _optional_int(tokens, layout.cause_type, "<cause_type>", text)
    reject = _optional_int(tokens, layout.reject_cause, "<reject_cause>", text)
    technology = None if act is None else TECHNOLOGY_OF_ACT.get(act)
    return RegistrationChange(
        domain,
        REGISTRATION_OF_STAT.get(stat, Registration.UNKNOWN),
        stat,
        Cell(area, cell_id, technology),
        reject,
    )


def _read(domain: str, tokens: tuple[_Token, ...], text: str) -> RegistrationLine:
    if len(tokens) < 2:
        raise ValueError(f"a read answer is <n>,<stat>[,...]: {text!r}")
    n = _int(tokens[0], "<n>", text, range(_LAYOUTS[domain].max_n + 1))
    return RegistrationLine(_registration(domain, tokens[1:], text), True, n)


def parse_registration_read(line: AnswerLine) -> RegistrationChange:
    """The answer to `AT+CEREG?` (and `+CREG`, `+CGREG`, `+C5GREG`): `<n>,<stat>[,...]`."""
    domain, tokens, text = _expect(line, *REGISTRATION_DOMAINS)
    return _read(domain, tokens, text).change


def parse_registration_urc(line: AnswerLine) -> RegistrationChange:
    """An unsolicited registration line: `<stat>[,<tac>,<ci>,<AcT>...]`, no `<n>`."""
    domain, tokens, text = _expect(line, *REGISTRATION_DOMAINS)
    return _registration(domain, tokens, text)


def _shape(domain: str, tokens: tuple[_Token, ...]) -> bool | None:
    """True for a read answer's shape, False for a URC's, None when it could be either;
    see `registration_urc_or_read`."""
    if len(tokens) < 2:
        return False
    first, second = tokens[0], tokens[1]
    layout = _LAYOUTS[domain]
    if _DECIMAL.fullmatch(first.text) and int(first.text) > layout.max_n:
        return False
    if second.quoted or not _STAT_LIKE.fullmatch(second.text):
        return False
    count, urc = len(tokens), layout.urc_counts
    if count > max(urc) + 1:  # more than either form has: extra fields of a later release
        return None
    read_fits, urc_fits = count - 1 in urc, count in urc
    return read_fits if read_fits != urc_fits else None


def _urc(domain: str, tokens: tuple[_Token, ...], text: str) -> RegistrationLine:
    return RegistrationLine(_registration(domain, tokens, text), False, None)


def registration_urc_or_read(line: AnswerLine, answer_expected: bool) -> RegistrationLine:
    """A registration line in whichever form its shape says, for when a URC may arrive
    while `AT+CEREG?` waits for its answer (the conversation claims both as its lines).

    In order: one field is a URC (a read answer has `<n>,<stat>`); a first field larger
    than any `<n>` (3 for CREG, 5 for the others) is a URC's `<stat>`; a second field that
    is quoted, empty, or not a bare decimal of one or two digits (`"1A2B"`, `00C3`) is a
    URC's `<tac>`/`<lac>` (a read answer's is `<stat>`); a field count 27.007 allows for
    one form only decides (`+CEREG: 2,1` is a read answer: no URC has two fields).
    Otherwise (`+CGREG: 2,1,1234,00005678,7`: a read answer without `<rac>`, or a URC
    with it) `answer_expected` decides, read form while a query waits, URC form otherwise;
    if the line does not parse in that form, the other is tried.
    """
    domain, tokens, text = _expect(line, *REGISTRATION_DOMAINS)
    shape = _shape(domain, tokens)
    if shape is not None:
        return (_read if shape else _urc)(domain, tokens, text)
    first, second = (_read, _urc) if answer_expected else (_urc, _read)
    try:
        return first(domain, tokens, text)
    except ValueError as error:
        try:
            return second(domain, tokens, text)
        except ValueError:
            raise error from None


def registration_answer(lines: Iterable[AnswerLine], domain: str) -> RegistrationChange | None:
    """The read answer among a query's lines (its last); None when there is none. A line
    shaped as a URC is not the answer: the caller routes it (`registration_urc_or_read`)."""
    found = None
    for line in named_lines(lines, domain):
        parsed = registration_urc_or_read(line, answer_expected=True)
        if parsed.read:
            found = parsed.change
    return found


# --- signal: +CSQ, +CESQ --------------------------------------------------------------


def _csq_rssi(value: int, text: str) -> float | None:
    if value == 99 or value == 199:
        return None
    if value <= 31:
        return -113.0 + 2 * value
    if 100 <= value <= 191:  # TD-SCDMA: 100 is -116 dBm or less, 191 is -25 or more
        return value - 216.0
    raise ValueError(f"<rssi> {value} is not a +CSQ value in {text!r}")


def parse_csq(line: AnswerLine) -> Signal:
    """`+CSQ: <rssi>,<ber>`: rssi 0..31 is -113 + 2 * rssi dBm, 99 not known."""
    _, tokens, text = _expect(line, "CSQ")
    if len(tokens) != 2:
        raise ValueError(f"+CSQ is <rssi>,<ber>: {text!r}")
    rssi = _int(tokens[0], "<rssi>", text)
    _int(tokens[1], "<ber>", text)
    return Signal(rssi_dbm=_csq_rssi(rssi, text))


class _Scale(NamedTuple):
    """A `+CESQ` index 0..top: 0 is below `lowest`, index i at least
    `lowest + step * (i - 1)` (27.007's bins), which it reads as."""

    what: str
    top: int
    lowest: float
    step: float
    unknown: int = 255


# Each index reads as the least value its bin holds (rsrp 51 is -90 <= rsrp < -89 dBm:
# -90), so the top one is exact (rsrp 97, ">= -44 dBm", is -44) and a value the virtual
# NM28 scales reads back as it was set; index 0 reads one step below its threshold.
_RSRQ = _Scale("<rsrq>", 34, -19.5, 0.5)
_RSRP = _Scale("<rsrp>", 97, -140.0, 1.0)
_SS_RSRQ = _Scale("<ss_rsrq>", 127, -43.0, 0.5)
_SS_RSRP = _Scale("<ss_rsrp>", 126, -156.0, 1.0)
_SS_SINR = _Scale("<ss_sinr>", 127, -23.0, 0.5)
# Fields no Signal holds: checked as numbers in range, never converted.
_UNUSED = (("<rxlev>", 63, 99), ("<ber>", 7, 99), ("<rscp>", 96, 255), ("<ecno>", 49, 255))


def _scaled(tokens: tuple[_Token, ...], at: int, scale: _Scale, text: str) -> float | None:
    if at >= len(tokens) or not tokens[at].text:
        return None
    value = _int(tokens[at], scale.what, text)
    if value == scale.unknown:
        return None
    if value > scale.top:
        raise ValueError(f"{scale.what} {value} is outside 0..{scale.top} in {text!r}")
    return scale.lowest + scale.step * (value - 1)


def parse_cesq(line: AnswerLine) -> Signal:
    """`+CESQ: <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>[,<ss_rsrq>,<ss_rsrp>,<ss_sinr>]`:
    RSRP and RSRQ from 5G's SS values where the module knows them, else LTE's; SINR only
    from SS-SINR (LTE has none here). 255 (99 for rxlev and ber) is not known."""
    _, tokens, text = _expect(line, "CESQ")
    if len(tokens) < 6:
        raise ValueError(f"+CESQ has at least six fields: {text!r}")
    for at, (what, top, unknown) in enumerate(_UNUSED):
        if tokens[at].text and _int(tokens[at], what, text) not in (*range(top + 1), unknown):
            raise ValueError(f"{what} {tokens[at].text} is outside 0..{top} in {text!r}")
    rsrq = _scaled(tokens, 4, _RSRQ, text)
    rsrp = _scaled(tokens, 5, _RSRP, text)
    ss_rsrq = _scaled(tokens, 6, _SS_RSRQ, text)
    ss_rsrp = _scaled(tokens, 7, _SS_RSRP, text)
    return Signal(
        rsrp_dbm=rsrp if ss_rsrp is None else ss_rsrp,
        rsrq_db=rsrq if ss_rsrq is None else ss_rsrq,
        sinr_db=_scaled(tokens, 8, _SS_SINR, text),
    )


def merge_signals(*signals: Signal | None) -> Signal:
    """One Signal from several (`+CSQ`'s RSSI and `+CESQ`'s RSRP...): each field from the
    first that knows it."""
    known = [s for s in signals if s is not None]

    def first(pick: Callable[[Signal], float | None]) -> float | None:
        return next((v for v in map(pick, known) if v is not None), None)

    return Signal(
        rssi_dbm=first(lambda s: s.rssi_dbm),
        rsrp_dbm=first(lambda s: s.rsrp_dbm),
        rsrq_db=first(lambda s: s.rsrq_db),
        sinr_db=first(lambda s: s.sinr_db),
    )


# --- operator, attach, PDP contexts, addresses --------------------------------------------


class Operator(NamedTuple):
    """`+COPS: <mode>[,<format>,<oper>[,<AcT>]]`: `name` is `<oper>` in its `format`
    (0 long, 1 short, 2 numeric `46000`); None when not registered."""

    name: str | None
    technology: Technology | None
    mode: int
    format: int | None = None


def parse_cops(line: AnswerLine) -> Operator:
    """The operator the module is on, and the technology `<AcT>` says."""
    _, tokens, text = _expect(line, "COPS")
    if not 1 <= len(tokens) <= 4:
        raise ValueError(f"+COPS is <mode>[,<format>,<oper>[,<AcT>]]: {text!r}")
    mode = _int(tokens[0], "<mode>", text, range(5))
    fmt = None
    if len(tokens) > 1 and tokens[1].text:
        fmt = _int(tokens[1], "<format>", text, range(3))
    name = tokens[2].text if len(tokens) > 2 and tokens[2].text else None
    act = _optional_int(tokens, 3, "<AcT>", text)
    return Operator(name, None if act is None else TECHNOLOGY_OF_ACT.get(act), mode, fmt)


def parse_cgatt(line: AnswerLine) -> bool:
    """`+CGATT: <state>`: attached to the packet domain."""
    _, tokens, text = _expect(line, "CGATT")
    if len(tokens) != 1:
        raise ValueError(f"+CGATT is <state>: {text!r}")
    return _int(tokens[0], "<state>", text, range(2)) == 1


def parse_cgact(line: AnswerLine) -> tuple[int, bool]:
    """`+CGACT: <cid>,<state>`: (cid, active)."""
    _, tokens, text = _expect(line, "CGACT")
    if len(tokens) != 2:
        raise ValueError(f"+CGACT is <cid>,<state>: {text!r}")
    return _int(tokens[0], "<cid>", text), _int(tokens[1], "<state>", text, range(2)) == 1


def pdp_active(lines: Iterable[AnswerLine], cid: int | None = None) -> bool:
    """Whether context `cid` (any context, when None) is active, from `AT+CGACT?`'s lines;
    a context not listed is not active."""
    states = [parse_cgact(line) for line in named_lines(lines, "CGACT")]
    return any(active and (cid is None or c == cid) for c, active in states)


def _address(token: _Token, text: str) -> str | None:
    """An address as Python writes it; None for none (empty, 0.0.0.0, ::). IPv6 may come
    as 16 dotted decimals (27.007's form) or in colons."""
    value = token.text.strip()
    if not value:
        return None
    try:
        if ":" in value:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv6Address(value)
        else:
            parts = value.split(".")
            if len(parts) not in (4, 16) or not all(map(_OCTET.fullmatch, parts)):
                raise ValueError(value)
            octets = bytes(int(p) for p in parts)  # a part above 255 raises ValueError
            address = ipaddress.ip_address(octets)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address in {text!r}") from None
    return None if address.is_unspecified else str(address)


def parse_cgpaddr(line: AnswerLine) -> tuple[int, tuple[str, ...]]:
    """`+CGPADDR: <cid>[,<PDP_addr_1>[,<PDP_addr_2>]]`: (cid, its addresses), IPv4 first
    for an IPv4v6 context as 27.007 orders them."""
    _, tokens, text = _expect(line, "CGPADDR")
    if not 1 <= len(tokens) <= 3:
        raise ValueError(f"+CGPADDR is <cid>[,<addr1>[,<addr2>]]: {text!r}")
    cid = _int(tokens[0], "<cid>", text)
    found = (_address(token, text) for token in tokens[1:])
    return cid, tuple(a for a in found if a is not None)


def ip_address(lines: Iterable[AnswerLine], cid: int | None = None) -> str | None:
    """The first address of context `cid` (of the first context that has one, when None)
    among `AT+CGPADDR`'s lines."""
    for line in named_lines(lines, "CGPADDR"):
        c, addresses = parse_cgpaddr(line)
        if addresses and (cid is None or c == cid):
            return addresses[0]
    return None
