"""The radio's lines: registration in both forms, signal, operator, attach, PDP, addresses,
the status built from them, and the lines arriving through the parser in any chunking."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.chunking import OK, assert_chunking_invariant
from support.talk import Talk

from nm28_async.protocol import network_commands as nc
from nm28_async.protocol.commands import Command
from nm28_async.protocol.conversation import Completed, Unsolicited
from nm28_async.protocol.events import ResultLine, TextLine
from nm28_async.protocol.network import (
    Cell,
    NetworkStatus,
    Registration,
    RegistrationChange,
    Signal,
    Technology,
)
from nm28_async.protocol.network_parse import (
    AnswerLine,
    Operator,
    RegistrationLine,
    ip_address,
    merge_signals,
    named_lines,
    parse_cesq,
    parse_cgact,
    parse_cgatt,
    parse_cgpaddr,
    parse_cops,
    parse_csq,
    parse_registration_read,
    parse_registration_urc,
    pdp_active,
    registration_answer,
    registration_urc_or_read,
)
from nm28_async.protocol.parser import Parser

HOME, ROAMING, DENIED = Registration.HOME, Registration.ROAMING, Registration.DENIED
SEARCHING, NOT_REGISTERED = Registration.SEARCHING, Registration.NOT_REGISTERED
LTE_CELL = Cell("1A2B", "01A2B3C4", Technology.LTE)
NO_CELL = Cell()


def change(
    domain: str,
    registration: Registration,
    stat: int,
    cell: Cell = NO_CELL,
    reject: int | None = None,
) -> RegistrationChange:
    return RegistrationChange(domain, registration, stat, cell, reject)


# --- registration: read answers, every <n> ---------------------------------------------

READ_ANSWERS: list[tuple[str, int, RegistrationChange]] = [
    ("+CEREG: 0,1", 0, change("CEREG", HOME, 1)),
    ("+CEREG: 1,2", 1, change("CEREG", SEARCHING, 2)),
    # Quectel
    ('+CEREG: 2,1,"1A2B","01A2B3C4",7', 2, change("CEREG", HOME, 1, LTE_CELL)),
    ("+CEREG: 2,0", 2, change("CEREG", NOT_REGISTERED, 0)),
    ('+CEREG: 3,3,"1A2B","01A2B3C4",7,0,15', 3, change("CEREG", DENIED, 3, LTE_CELL, 15)),
    ("+CEREG: 3,3,,,,0,15", 3, change("CEREG", DENIED, 3, Cell(), 15)),
    # u-blox, n=4: no cause, the PSM timers
    (
        '+CEREG: 4,5,"0001","01234567",7,,,"00000000","00111000"',
        4,
        change("CEREG", ROAMING, 5, Cell("0001", "01234567", Technology.LTE)),
    ),
    (
        '+CEREG: 5,1,"1A2B","01A2B3C4",9,0,0,"00100001","00000110"',
        5,
        change("CEREG", HOME, 1, Cell("1A2B", "01A2B3C4", Technology.NB_IOT), 0),
    ),
    # unquoted hex, lower case, spaces
    ("+CEREG: 2, 1, 1a2b, 01a2b3c4, 7", 2, change("CEREG", HOME, 1, LTE_CELL)),
    ("+CREG: 0,5", 0, change("CREG", ROAMING, 5)),
    (
        '+CREG: 2,1,"00C3","0000A2F1",7',
        2,
        change("CREG", HOME, 1, Cell("00C3", "0000A2F1", Technology.LTE)),
    ),
    ('+CREG: 2,1,"00C3","A2F1"', 2, change("CREG", HOME, 1, Cell("00C3", "A2F1"))),
    (
        '+CREG: 3,3,"00C3","0000A2F1",0,0,13',
        3,
        change("CREG", DENIED, 3, Cell("00C3", "0000A2F1", Technology.GSM), 13),
    ),
    (
        '+CGREG: 2,1,"00C3","0000A2F1",2,"FF"',
        2,
        change("CGREG", HOME, 1, Cell("00C3", "0000A2F1", Technology.UMTS)),
    ),
    ("+CGREG: 3,3,,,,,0,7", 3, change("CGREG", DENIED, 3, Cell(), 7)),
    # 5G, with the allowed NSSAI
    (
        '+C5GREG: 2,1,"00A1B2","0000000012F",11,2,"01.000001"',
        2,
        change("C5GREG", HOME, 1, Cell("00A1B2", "0000000012F", Technology.NR5G_SA)),
    ),
    # 5G firmware that leaves the NSSAI out
    (
        '+C5GREG: 2,5,"00A1B2","0000000012F",11',
        2,
        change("C5GREG", ROAMING, 5, Cell("00A1B2", "0000000012F", Technology.NR5G_SA)),
    ),
    ("+C5GREG: 3,3,,,,,,0,7", 3, change("C5GREG", DENIED, 3, Cell(), 7)),
    ("+C5GREG: 1,11", 1, change("C5GREG", Registration.EMERGENCY_ONLY, 11)),
    ("+CEREG: 0,42", 0, change("CEREG", Registration.UNKNOWN, 42)),  # a <stat> not listed
    ('+CEREG: 2,1,"1A2B","01A2B3C4",99', 2, change("CEREG", HOME, 1, Cell("1A2B", "01A2B3C4"))),
]


@pytest.mark.parametrize(("text", "n", "expected"), READ_ANSWERS)
def test_read_answers(text: str, n: int, expected: RegistrationChange) -> None:
    assert parse_registration_read(text) == expected
    # The shape says read answer, whatever the caller expects.
    assert registration_urc_or_read(text, answer_expected=False) == RegistrationLine(
        expected, True, n
    )


# --- registration: URCs -------------------------------------------------------------------

URCS: list[tuple[str, RegistrationChange]] = [
    ("+CEREG: 1", change("CEREG", HOME, 1)),
    ("+CEREG: 2", change("CEREG", SEARCHING, 2)),
    ("+CEREG: 5", change("CEREG", ROAMING, 5)),
    ('+CEREG: 1,"1A2B","01A2B3C4",7', change("CEREG", HOME, 1, LTE_CELL)),
    ("+CEREG: 1,1A2B,01A2B3C4,7", change("CEREG", HOME, 1, LTE_CELL)),
    ('+CEREG: 3,"1A2B","01A2B3C4",7,0,15', change("CEREG", DENIED, 3, LTE_CELL, 15)),
    ("+CEREG: 3,,,,0,15", change("CEREG", DENIED, 3, Cell(), 15)),
    (
        '+CEREG: 5,"0001","01234567",7,,,"00000000","00111000"',
        change("CEREG", ROAMING, 5, Cell("0001", "01234567", Technology.LTE)),
    ),
    # SIMCom
    (
        '+CREG: 1,"00C3","0000A2F1",7',
        change("CREG", HOME, 1, Cell("00C3", "0000A2F1", Technology.LTE)),
    ),
    ("+CREG: 1,00C3,0000A2F1", change("CREG", HOME, 1, Cell("00C3", "0000A2F1"))),
    (
        '+CGREG: 1,"00C3","0000A2F1",7,"FF"',
        change("CGREG", HOME, 1, Cell("00C3", "0000A2F1", Technology.LTE)),
    ),
    (
        '+C5GREG: 1,"00A1B2","0000000012F",11,2,"01.000001"',
        change("C5GREG", HOME, 1, Cell("00A1B2", "0000000012F", Technology.NR5G_SA)),
    ),
    ("+C5GREG: 3,,,,,,0,7", change("C5GREG", DENIED, 3, Cell(), 7)),
    (
        '+C5GREG: 1,"00A1B2","0000000012F",13',
        change("C5GREG", HOME, 1, Cell("00A1B2", "0000000012F", Technology.NR5G_NSA)),
    ),
    ("AT+CEREG: 1", change("CEREG", HOME, 1)),  # the manual's typo prefix, as the parser takes it
]


@pytest.mark.parametrize(("text", "expected"), URCS)
def test_urcs(text: str, expected: RegistrationChange) -> None:
    assert parse_registration_urc(text) == expected
    # The shape says URC, even while an answer is expected.
    assert registration_urc_or_read(text, answer_expected=True) == RegistrationLine(
        expected, False, None
    )


@pytest.mark.parametrize(
    ("text", "answer_expected", "read"),
    [
        ("+CEREG: 1", True, False),  # one field: no read answer is that short
        ("+CEREG: 2,1", False, True),  # two fields: no URC is
        ("+CEREG: 7,1", True, False),  # 7 is no <n>
        ("+CREG: 4,1", True, False),  # CREG's <n> stops at 3
        ('+CEREG: 2,"1A2B","01A2B3C4",7', True, False),  # a quoted second field is a <tac>
        ("+CEREG: 2,1A2B,01A2B3C4,7", True, False),  # so is one with hex letters
        ("+CREG: 2,00C3,0000A2F1", True, False),  # or zero-padded
        ("+CEREG: 3,,,,0,15", True, False),  # or empty
        ('+CEREG: 2,1,"1A2B","01A2B3C4",7', False, True),  # five fields: read form only
        ("+CEREG: 1,12,34,7", True, False),  # four fields: URC form only
        # Both forms fit: the caller's expectation decides.
        ("+CGREG: 2,1,1234,00005678,7", True, True),
        ("+CGREG: 2,1,1234,00005678,7", False, False),
        # More fields than either form has (a later release's): the same.
        ("+CEREG: 2,1,1234,00005678,7,0,0,00,01,02", True, True),
        ("+CEREG: 2,1,1234,00005678,7,0,0,00,01,02", False, False),
        # Either fits by count, but only the read form parses (a URC's <AcT> would be A2F1).
        ("+CREG: 2,1,00C3,A2F1", False, True),
        ("+CREG: 2,1,00C3,A2F1", True, True),
        ('+CEREG: 2,1,"1A2B","01A2B3C4",7,0,0,"00","01","02"', False, True),
    ],
)
def test_urc_or_read_by_shape(text: str, answer_expected: bool, read: bool) -> None:
    parsed = registration_urc_or_read(text, answer_expected)
    assert parsed.read is read
    assert (parsed.n is not None) is read


def test_ambiguous_line_in_each_form() -> None:
    as_read = registration_urc_or_read("+CGREG: 2,1,1234,00005678,7", answer_expected=True)
    assert as_read == RegistrationLine(
        change("CGREG", HOME, 1, Cell("1234", "00005678", Technology.LTE)), True, 2
    )
    as_urc = registration_urc_or_read("+CGREG: 2,1,1234,00005678,7", answer_expected=False)
    assert as_urc.change == change("CGREG", SEARCHING, 2, Cell("1", "1234", None))


def test_registration_from_a_result_line() -> None:
    line = ResultLine(
        "CEREG", ("2", "1", "1A2B", "01A2B3C4", "7"), '+CEREG: 2,1,"1A2B","01A2B3C4",7'
    )
    assert parse_registration_read(line).cell == LTE_CELL
    assert parse_registration_urc(TextLine('+CEREG: 1,"1A2B","01A2B3C4",7')).cell == LTE_CELL


def test_registration_answer_skips_urcs_in_the_answer() -> None:
    lines: list[AnswerLine] = [
        '+CEREG: 5,"1A2B","01A2B3C4",7',  # a URC the query's answer claimed
        TextLine("RING"),
        ResultLine("CSQ", ("20", "99"), "+CSQ: 20,99"),
        "+CEREG: 2,1,1A2B,01A2B3C4,7",
    ]
    assert registration_answer(lines, "CEREG") == change("CEREG", HOME, 1, LTE_CELL)
    assert registration_answer(lines[:1], "CEREG") is None
    assert registration_answer([], "C5GREG") is None


MALFORMED_REGISTRATION = [
    "",
    "OK",
    "CEREG: 2,1",
    "+CSQ: 2,1",
    "+CEREG:",
    "+CEREG: ",
    "+CEREG: x,1",
    "+CEREG: 2,one",
    "+CEREG: 2,-1",
    '+CEREG: 2,"1"',
    "+CEREG: 9,1",
    "+CREG: 2,1,00C3,0000A2F1,GSM",
    '+CEREG: 2,1,"1A2B',
    '+CEREG: 2,1,"1A2B"x,"01A2B3C4",7',
    '+CEREG: 2,1,1A"2B,01A2B3C4,7',
    '+CEREG: 2,1,"XYZ!","01A2B3C4",7',
    '+CEREG: 2,1,"1A2B","01A2B3C4G",7',
    '+CEREG: 2,1,"1A2B","0123456789ABCDEF0",7',
    '+CEREG: 2,1,"1A2B","01A2B3C4",LTE',
    '+CEREG: 2,1,"1A2B","01A2B3C4",7,x,15',
    '+CEREG: 2,1,"1A2B","01A2B3C4",7,0,"15"',
    "+CEREG: 2,12345678901234567890",
    "+CEREG: 2,\u0661",  # an Arabic-Indic digit is no AT number
]


@pytest.mark.parametrize("text", MALFORMED_REGISTRATION)
def test_malformed_read_answers(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_registration_read(text)


@pytest.mark.parametrize(
    "text",
    [
        # (`+CEREG: 9,1` and `+CEREG: 2,"1"` are URCs: <stat>, then <tac> 1)
        *[t for t in MALFORMED_REGISTRATION if t not in ("+CEREG: 9,1", '+CEREG: 2,"1"')],
        '+CEREG: ,"1A2B","01A2B3C4",7',
        "+CEREG: 1,ZZ",
        '+CEREG: "1"',
        "+CEREG: -1",
    ],
)
def test_malformed_urcs(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_registration_urc(text)
    with pytest.raises(ValueError, match=r"."):
        registration_urc_or_read(text, answer_expected=False)


def test_the_error_names_the_line() -> None:
    with pytest.raises(ValueError, match=r"XYZ.*\+CEREG: 1,XYZ,"):
        parse_registration_urc("+CEREG: 1,XYZ,01A2B3C4,7")
    with pytest.raises(ValueError, match=r"expected \+C5GREG or .* got .\+CSQ: 1,2"):
        parse_registration_read(ResultLine("CSQ", (), "+CSQ: 1,2"))
    with pytest.raises(ValueError, match="not a line"):
        parse_registration_read(42)  # type: ignore[arg-type]


# --- signal ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rssi"),
    [
        ("+CSQ: 0,0", -113.0),
        ("+CSQ: 15,99", -83.0),
        ("+CSQ: 31,7", -51.0),
        ("+CSQ: 99,99", None),
        ("+CSQ:20,99", -73.0),
        ("+CSQ: 100,99", -116.0),  # TD-SCDMA's extended range
        ("+CSQ: 191,99", -25.0),
        ("+CSQ: 199,99", None),
    ],
)
def test_csq(text: str, rssi: float | None) -> None:
    assert parse_csq(text) == Signal(rssi_dbm=rssi)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+CESQ: 99,99,255,255,20,45", Signal(rsrp_dbm=-96.0, rsrq_db=-10.0)),
        # 5G: SS values, and a SINR
        (
            "+CESQ: 99,99,255,255,255,255,30,80,60",
            Signal(rsrp_dbm=-77.0, rsrq_db=-28.5, sinr_db=6.5),
        ),
        # both known: 5G's win
        ("+CESQ: 99,99,255,255,20,45,30,80,60", Signal(rsrp_dbm=-77.0, rsrq_db=-28.5, sinr_db=6.5)),
        # 5G's not known: LTE's, and no SINR
        ("+CESQ: 99,99,255,255,20,45,255,255,255", Signal(rsrp_dbm=-96.0, rsrq_db=-10.0)),
        ("+CESQ: 99,99,255,255,20,45,255,80,255", Signal(rsrp_dbm=-77.0, rsrq_db=-10.0)),
        ("+CESQ: 99,99,255,255,255,255", Signal()),
        ("+CESQ: 99,99,255,255,0,0", Signal(rsrp_dbm=-141.0, rsrq_db=-20.0)),
        ("+CESQ: 99,99,255,255,34,97", Signal(rsrp_dbm=-44.0, rsrq_db=-3.0)),
        (
            "+CESQ: 99,99,255,255,255,255,0,0,0",
            Signal(rsrp_dbm=-157.0, rsrq_db=-43.5, sinr_db=-23.5),
        ),
        (
            "+CESQ: 99,99,255,255,255,255,127,126,127",
            Signal(rsrp_dbm=-31.0, rsrq_db=20.0, sinr_db=40.0),
        ),
        ("+CESQ: 63,7,96,49,255,255", Signal()),  # GSM and UMTS values: no Signal field
        ("+CESQ: 99,99,255,255,,,", Signal()),  # empty is not known
    ],
)
def test_cesq(text: str, expected: Signal) -> None:
    assert parse_cesq(text) == expected


@pytest.mark.parametrize(
    ("index", "dbm"), [(1, -140.0), (51, -90.0), (96, -45.0), (97, -44.0), (0, -141.0)]
)
def test_an_index_reads_as_the_least_value_of_its_bin(index: int, dbm: float) -> None:
    """27.007: rsrp 1 is -140 <= rsrp < -139 dBm, 97 is -44 dBm or more, 0 below -140."""
    assert parse_cesq(f"+CESQ: 99,99,255,255,255,{index}").rsrp_dbm == dbm


def test_merged_signal() -> None:
    csq, cesq = parse_csq("+CSQ: 20,99"), parse_cesq("+CESQ: 99,99,255,255,20,45")
    merged = Signal(rssi_dbm=-73.0, rsrp_dbm=-96.0, rsrq_db=-10.0)
    assert merge_signals(csq, cesq) == merged
    assert merge_signals(cesq, None, csq) == merged
    assert merge_signals(None, cesq) == Signal(rsrp_dbm=-96.0, rsrq_db=-10.0)
    assert merge_signals() == Signal()
    assert merge_signals(Signal(rsrp_dbm=-80.0), Signal(rsrp_dbm=-90.0)) == Signal(rsrp_dbm=-80.0)


# --- operator, attach, PDP, addresses -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('+COPS: 0,0,"CHINA MOBILE",7', Operator("CHINA MOBILE", Technology.LTE, 0, 0)),
        ('+COPS: 0,2,"46000",9', Operator("46000", Technology.NB_IOT, 0, 2)),
        ('+COPS: 1,1,"Vodafone",13', Operator("Vodafone", Technology.NR5G_NSA, 1, 1)),
        ('+COPS: 0,0,"Telekom.de",11', Operator("Telekom.de", Technology.NR5G_SA, 0, 0)),
        ('+COPS: 0,0,"CMCC"', Operator("CMCC", None, 0, 0)),
        ('+COPS: 0,0,"CMCC",99', Operator("CMCC", None, 0, 0)),
        ('+COPS: 0,0,"CMCC",', Operator("CMCC", None, 0, 0)),
        ("+COPS: 0", Operator(None, None, 0)),
        ("+COPS: 2", Operator(None, None, 2)),
        ('+COPS: 0,0,""', Operator(None, None, 0, 0)),
    ],
)
def test_cops(text: str, expected: Operator) -> None:
    assert parse_cops(text) == expected


def test_cgatt_and_cgact() -> None:
    assert parse_cgatt("+CGATT: 1") is True
    assert parse_cgatt("+CGATT: 0") is False
    assert parse_cgact("+CGACT: 1,1") == (1, True)
    assert parse_cgact("+CGACT: 16,0") == (16, False)
    lines: list[AnswerLine] = [
        ResultLine("CGACT", ("1", "0"), "+CGACT: 1,0"),
        "+CGACT: 2,1",
        TextLine("RING"),
    ]
    assert pdp_active(lines) is True
    assert pdp_active(lines, 2) is True
    assert pdp_active(lines, 1) is False
    assert pdp_active(lines, 3) is False  # not listed: not active
    assert pdp_active([]) is False
    assert pdp_active(["+CGACT: 1,0"]) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('+CGPADDR: 1,"10.12.1.5"', (1, ("10.12.1.5",))),
        ("+CGPADDR: 1,10.12.1.5", (1, ("10.12.1.5",))),
        ('+CGPADDR: 2,"010.012.001.005"', (2, ("10.12.1.5",))),
        ('+CGPADDR: 1,"32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1"', (1, ("2001:db8::1",))),
        ('+CGPADDR: 1,"2001:DB8:0:0::1"', (1, ("2001:db8::1",))),
        (
            '+CGPADDR: 1,"10.12.1.5","254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1"',
            (1, ("10.12.1.5", "fe80::1")),
        ),
        ('+CGPADDR: 1,"0.0.0.0"', (1, ())),
        ('+CGPADDR: 1,"0.0.0.0","2001:db8::5"', (1, ("2001:db8::5",))),
        ('+CGPADDR: 1,"::"', (1, ())),
        ('+CGPADDR: 1,""', (1, ())),
        ("+CGPADDR: 3", (3, ())),
    ],
)
def test_cgpaddr(text: str, expected: tuple[int, tuple[str, ...]]) -> None:
    assert parse_cgpaddr(text) == expected


def test_ip_address_of_a_context() -> None:
    lines = ['+CGPADDR: 1,"0.0.0.0"', '+CGPADDR: 2,"10.0.0.2"', '+CGPADDR: 3,"10.0.0.3"']
    assert ip_address(lines) == "10.0.0.2"
    assert ip_address(lines, 3) == "10.0.0.3"
    assert ip_address(lines, 1) is None
    assert ip_address(lines, 9) is None
    assert ip_address([]) is None


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_csq, "+CSQ: 32,99"),
        (parse_csq, "+CSQ: 98,99"),
        (parse_csq, "+CSQ: 99"),
        (parse_csq, "+CSQ: 1,2,3"),
        (parse_csq, "+CSQ: a,b"),
        (parse_csq, "+CSQ: -1,99"),
        (parse_csq, "+CSQ: 20,x"),
        (parse_csq, "+CSQ:"),
        (parse_csq, "+CESQ: 20,99"),
        (parse_cesq, "+CESQ: 99,99,255,255,20"),
        (parse_cesq, "+CESQ: 99,99,255,255,20,98"),
        (parse_cesq, "+CESQ: 99,99,255,255,35,45"),
        (parse_cesq, "+CESQ: 99,99,255,255,255,255,128,80,60"),
        (parse_cesq, "+CESQ: 99,99,255,255,255,255,30,127,60"),
        (parse_cesq, "+CESQ: 99,99,255,255,255,255,30,80,128"),
        (parse_cesq, "+CESQ: 64,99,255,255,20,45"),
        (parse_cesq, "+CESQ: 99,8,255,255,20,45"),
        (parse_cesq, "+CESQ: 99,99,97,255,20,45"),
        (parse_cesq, "+CESQ: 99,99,255,50,20,45"),
        (parse_cesq, "+CESQ: 99,99,255,255,twenty,45"),
        (parse_cesq, '+CESQ: 99,99,255,255,"20",45'),
        (parse_cops, "+COPS: 5"),
        (parse_cops, "+COPS:"),
        (parse_cops, '+COPS: 0,3,"X"'),
        (parse_cops, '+COPS: (2,"CMCC","CMCC","46000",7),,(0-4),(0-2)'),
        (parse_cops, '+COPS: 0,0,"CMCC",LTE'),
        (parse_cops, '+COPS: 0,0,"CMCC",7,1'),
        (parse_cops, '+COPS: 0,0,"CMCC'),
        (parse_cgatt, "+CGATT: 2"),
        (parse_cgatt, "+CGATT:"),
        (parse_cgatt, "+CGATT: 1,1"),
        (parse_cgatt, "+CGACT: 1"),
        (parse_cgact, "+CGACT: 1"),
        (parse_cgact, "+CGACT: 1,2"),
        (parse_cgact, "+CGACT: x,1"),
        (parse_cgpaddr, "+CGPADDR:"),
        (parse_cgpaddr, '+CGPADDR: x,"10.0.0.1"'),
        (parse_cgpaddr, '+CGPADDR: 1,"300.1.1.1"'),
        (parse_cgpaddr, '+CGPADDR: 1,"10.0.0"'),
        (parse_cgpaddr, '+CGPADDR: 1,"10.0.0.1.255.255.255.0"'),
        (parse_cgpaddr, '+CGPADDR: 1,"10.0.0.-1"'),
        (parse_cgpaddr, '+CGPADDR: 1,"10.0.0.1000"'),
        (parse_cgpaddr, '+CGPADDR: 1,"fe80::zz"'),
        (parse_cgpaddr, '+CGPADDR: 1,"example.com"'),
        (parse_cgpaddr, '+CGPADDR: 1,"10.0.0.1","::1","::2"'),
    ],
)
def test_malformed_lines(parse: Callable[[str], object], text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse(text)


def test_a_malformed_line_fails_the_aggregate() -> None:
    with pytest.raises(ValueError, match="state"):
        pdp_active(["+CGACT: 1,1", "+CGACT: 2,7"])
    with pytest.raises(ValueError, match="address"):
        ip_address(['+CGPADDR: 1,"1.2.3"'])


ALL_PARSERS = (
    parse_registration_read,
    parse_registration_urc,
    lambda line: registration_urc_or_read(line, True),
    lambda line: registration_urc_or_read(line, False),
    parse_csq,
    parse_cesq,
    parse_cops,
    parse_cgatt,
    parse_cgact,
    parse_cgpaddr,
)
NAMES = ("CREG", "CGREG", "CEREG", "C5GREG", "CSQ", "CESQ", "COPS", "CGATT", "CGACT", "CGPADDR")
FIELD = st.one_of(
    st.sampled_from(["", "0", "1", "2", "5", "7", "11", "99", "255", "1A2B", "-1", "x", "(0-4)"]),
    st.text(alphabet='0123456789ABCDEFabcdef.:," -', max_size=12),
    st.builds(lambda s: f'"{s}"', st.text(alphabet="0123456789ABCDEF.:", max_size=10)),
)


@given(name=st.sampled_from(NAMES), fields=st.lists(FIELD, max_size=12))
def test_any_line_parses_or_is_a_value_error(name: str, fields: list[str]) -> None:
    """Never IndexError, AttributeError, TypeError: the caller logs a ValueError and skips."""
    text = f"+{name}: " + ",".join(fields)
    for parse in ALL_PARSERS:
        with contextlib.suppress(ValueError):
            parse(text)


# --- the status ---------------------------------------------------------------------------


def test_status_from_5g_and_lte() -> None:
    nr = parse_registration_read('+C5GREG: 2,1,"00A1B2","0000000012F",11,2,"01.000001"')
    lte = parse_registration_read('+CEREG: 2,1,"1A2B","01A2B3C4",7')
    status = nc.network_status(
        [nr, lte, None],
        operator=parse_cops('+COPS: 0,0,"CMCC",11'),
        signal=merge_signals(
            parse_csq("+CSQ: 20,99"), parse_cesq("+CESQ: 99,99,255,255,255,255,30,80,60")
        ),
        attached=True,
        pdp_active=True,
        ip="10.0.0.2",
    )
    assert status == NetworkStatus(
        registration=HOME,
        technology=Technology.NR5G_SA,
        operator="CMCC",
        signal=Signal(-73.0, -77.0, -28.5, 6.5),
        attached=True,
        pdp_active=True,
        ip="10.0.0.2",
        cell=nr.cell,
        domains=(("C5GREG", HOME), ("CEREG", HOME)),
    )
    assert status.registered


def test_status_registered_on_lte_only() -> None:
    nr = parse_registration_read("+C5GREG: 2,0")
    lte = parse_registration_read('+CEREG: 2,5,"1A2B","01A2B3C4",7')
    status = nc.network_status([nr, lte])
    assert status.registration is ROAMING
    assert status.cell == LTE_CELL
    assert status.technology is Technology.LTE  # no +COPS: the domain's <AcT>
    assert status.domains == (("C5GREG", NOT_REGISTERED), ("CEREG", ROAMING))
    assert status.operator is None
    assert status.attached is None
    assert status.signal == Signal()


@pytest.mark.parametrize(
    ("registrations", "expected"),
    [
        ([DENIED, SEARCHING, NOT_REGISTERED], SEARCHING),
        ([NOT_REGISTERED, DENIED], DENIED),
        ([Registration.UNKNOWN, NOT_REGISTERED], Registration.UNKNOWN),
        ([NOT_REGISTERED, Registration.EMERGENCY_ONLY, SEARCHING], Registration.EMERGENCY_ONLY),
        ([SEARCHING, ROAMING, HOME], ROAMING),
        ([], Registration.UNKNOWN),
    ],
)
def test_status_registration_across_domains(
    registrations: list[Registration], expected: Registration
) -> None:
    changes = [
        change(d, r, 0) for d, r in zip(("C5GREG", "CEREG", "CREG"), registrations, strict=False)
    ]
    assert nc.network_status([None, *changes]).registration is expected


def test_status_when_every_command_failed() -> None:
    assert nc.network_status([None, None, None]) == NetworkStatus(Registration.UNKNOWN)
    assert nc.status_of({}) == NetworkStatus(Registration.UNKNOWN)


def test_status_of_the_answers() -> None:
    answers: dict[str, list[str | ResultLine | TextLine] | None] = {
        "C5GREG": None,  # the firmware has no AT+C5GREG: ERROR
        "CEREG": ['+CEREG: 1,"1A2B","01A2B3C4",7', "+CEREG: 2,1,1A2B,01A2B3C4,7"],
        "CREG": ["+CREG: 0,1"],
        "COPS": ['+COPS: 0,0,"CMCC",7'],
        "CSQ": ["+CSQ: 20,99"],
        "CESQ": None,
        "CGATT": ["+CGATT: 1"],
        "CGACT": ["+CGACT: 1,1", "+CGACT: 2,0"],
        "CGPADDR": ['+CGPADDR: 1,"10.0.0.2"', '+CGPADDR: 2,""'],
    }
    assert nc.status_of(answers) == NetworkStatus(
        registration=HOME,
        technology=Technology.LTE,
        operator="CMCC",
        signal=Signal(rssi_dbm=-73.0),
        attached=True,
        pdp_active=True,
        ip="10.0.0.2",
        cell=LTE_CELL,
        domains=(("CEREG", HOME), ("CREG", HOME)),
    )


# --- the commands and the table -----------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "line", "info"),
    [
        (nc.C5GREG_QUERY, b"AT+C5GREG?\r", "C5GREG"),
        (nc.CEREG_QUERY, b"AT+CEREG?\r", "CEREG"),
        (nc.CGREG_QUERY, b"AT+CGREG?\r", "CGREG"),
        (nc.CREG_QUERY, b"AT+CREG?\r", "CREG"),
        (nc.COPS_QUERY, b"AT+COPS?\r", "COPS"),
        (nc.CSQ, b"AT+CSQ\r", "CSQ"),
        (nc.CESQ, b"AT+CESQ\r", "CESQ"),
        (nc.CGATT_QUERY, b"AT+CGATT?\r", "CGATT"),
        (nc.CGACT_QUERY, b"AT+CGACT?\r", "CGACT"),
        (nc.CGPADDR, b"AT+CGPADDR\r", "CGPADDR"),
        (nc.C5GREG_URCS_ON, b"AT+C5GREG=2\r", "C5GREG"),
        (nc.CEREG_URCS_ON, b"AT+CEREG=2\r", "CEREG"),
        (nc.RADIO_OFF, b"AT+CFUN=0\r", "CFUN"),
        (nc.RADIO_ON, b"AT+CFUN=1\r", "CFUN"),
        (nc.RESET_MODULE, b"AT+CFUN=1,1\r", "CFUN"),
        (nc.activate_pdp(1), b"AT+CGACT=1,1\r", "CGACT"),
        (nc.activate_pdp(16), b"AT+CGACT=1,16\r", "CGACT"),
    ],
)
def test_commands(command: Command, line: bytes, info: str) -> None:
    assert command.line == line
    assert command.info == info
    assert command.result is None
    assert command.payload is None


def test_commands_that_wait_for_the_network() -> None:
    waits = {nc.RADIO_OFF, nc.RADIO_ON, nc.RESET_MODULE, nc.activate_pdp(1)}
    assert all(c.network for c in waits)
    assert not any(q.command.network for q in nc.STATUS_QUERIES)


@pytest.mark.parametrize("cid", [0, 17, -1, True, "1"])
def test_activate_pdp_checks_the_cid(cid: object) -> None:
    with pytest.raises(ValueError, match="cid"):
        nc.activate_pdp(cid)  # type: ignore[arg-type]


def test_the_table() -> None:
    assert [q.prefix for q in nc.STATUS_QUERIES] == [
        "C5GREG", "CEREG", "CREG", "COPS", "CSQ", "CESQ", "CGATT", "CGACT", "CGPADDR",
    ]  # fmt: skip
    for query in (*nc.STATUS_QUERIES, nc.CGREG):
        assert query.command.info == query.prefix
        assert query.parse([TextLine("RING")]) in (None, False)  # no line of its own
    assert nc.CEREG.parse(['+CEREG: 2,1,"1A2B","01A2B3C4",7']) == change("CEREG", HOME, 1, LTE_CELL)
    assert nc.SIGNAL_CESQ.parse(["+CESQ: 99,99,255,255,20,45"]) == Signal(
        rsrp_dbm=-96.0, rsrq_db=-10.0
    )
    assert nc.OPERATOR.parse(['+COPS: 0,0,"CMCC",7']) == Operator("CMCC", Technology.LTE, 0, 0)
    assert nc.ATTACHED.parse(["+CGATT: 0"]) is False
    assert nc.PDP_ACTIVE.parse(["+CGACT: 1,1"]) is True
    assert nc.IP_ADDRESS.parse(["+CGPADDR: 1,10.0.0.9"]) == "10.0.0.9"
    assert nc.answer_of(["+CSQ: 1,99", "+CSQ: 2,99"], "CSQ", parse_csq) == Signal(rssi_dbm=-109.0)


def test_named_lines() -> None:
    lines: list[AnswerLine] = [
        TextLine("+CSQ: 1,99"),
        "+csq: 2,99",
        ResultLine("CSQ", (), "+CSQ:"),
        "RING",
        "+CESQ: 1",
    ]
    assert named_lines(lines, "CSQ") == lines[:3]


# --- through the parser, in every chunking --------------------------------------------------

REAL_LINES = [
    '+CEREG: 2,1,"1A2B","01A2B3C4",7',
    '+CREG: 1,"00C3","0000A2F1",7',
    '+CEREG: 4,5,"0001","01234567",7,,,"00000000","00111000"',
    '+C5GREG: 2,1,"00A1B2","0000000012F",11,2,"01.000001"',
    "+CEREG: 3,3,,,,0,15",
    "+CESQ: 99,99,255,255,20,45",
    "+CESQ: 99,99,255,255,255,255,30,80,60",
    "+CSQ: 20,99",
    '+COPS: 0,0,"CHINA MOBILE",7',
    "+CGATT: 1",
    "+CGACT: 1,1",
    '+CGPADDR: 1,"10.12.1.5","32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1"',
]


def _parse_any(line: ResultLine) -> object:
    parsers = {
        "CSQ": parse_csq, "CESQ": parse_cesq, "COPS": parse_cops, "CGATT": parse_cgatt,
        "CGACT": parse_cgact, "CGPADDR": parse_cgpaddr,
    }  # fmt: skip
    parse = parsers.get(line.name)
    return registration_urc_or_read(line, True) if parse is None else parse(line)


@pytest.mark.parametrize("text", REAL_LINES)
def test_information_response_in_every_chunking(text: str) -> None:
    data = b"\r\n" + text.encode() + b"\r\n\r\nOK\r\n"
    events = assert_chunking_invariant(data)
    assert events[1:] == [OK]
    line = events[0]
    assert isinstance(line, ResultLine)
    assert line.raw == text
    assert _parse_any(line) == _parse_any(ResultLine(line.name, (), text))


@pytest.mark.parametrize(
    "text", [*REAL_LINES[:5:2], REAL_LINES[3], '+CREG: 2,1,"00C3","0000A2F1",7']
)
def test_urc_in_every_chunking(text: str) -> None:
    urc = text.split(": ", 1)[0] + ": " + text.split(",", 1)[1]  # the same line without <n>
    data = b"\r\n" + urc.encode() + b"\r\n"
    (line,) = assert_chunking_invariant(data)
    assert isinstance(line, ResultLine)
    assert line.raw == urc
    parsed = registration_urc_or_read(line, answer_expected=False)
    assert not parsed.read
    assert parsed.change == parse_registration_read(text)


def test_parser_splits_fields_without_the_quotes_it_drops() -> None:
    """The parser's own fields lose quoting and a trailing empty field: the parsers here
    read the raw text, which keeps both."""
    (line,) = Parser().feed(b'+CEREG: 1,"1A2B","01A2B3C4",7,0,\r\n')
    assert isinstance(line, ResultLine)
    assert line.fields == ("1", "1A2B", "01A2B3C4", "7", "0")
    assert parse_registration_urc(line).reject_cause is None


def test_a_urc_during_the_query_is_claimed_as_its_line() -> None:
    """The conversation takes every `+CEREG:` line while `AT+CEREG?` is on the wire as its
    information line; the shape tells the URC from the answer."""
    talk = Talk()
    handle = talk.submit(nc.CEREG_QUERY)
    assert talk.sent() == b"AT+CEREG?\r"
    talk.module(
        b'\r\n+CEREG: 5,"1A2B","01A2B3C4",7\r\n\r\n+CEREG: 2,1,"1A2B","01A2B3C4",7\r\n'
        + b"\r\nOK\r\n"
    )
    (done,) = talk.take()
    assert isinstance(done, Completed)
    assert done.handle == handle
    assert len(done.lines) == 2
    assert nc.CEREG.parse(done.lines) == change("CEREG", HOME, 1, LTE_CELL)
    urc = registration_urc_or_read(done.lines[0], answer_expected=True)
    assert not urc.read
    assert urc.change.registration is ROAMING
    # With no query on the wire the same line is unsolicited.
    talk.module(b'\r\n+CEREG: 1,"1A2B","01A2B3C4",7\r\n')
    (event,) = talk.take()
    assert isinstance(event, Unsolicited)
    assert isinstance(event.line, ResultLine)
    assert parse_registration_urc(event.line) == change("CEREG", HOME, 1, LTE_CELL)
