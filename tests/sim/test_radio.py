"""The virtual NM28's radio model as plain state: what 27.007 lines it prints, which URCs a
transition brings, when the data path goes; and its commands' argument checks. No port, no
broker, no clock."""

from __future__ import annotations

import pytest

from nm28_async.protocol.network import AccessTechnology, RegistrationStat, Signal
from nm28_async.sim.at_syntax import LineRejected, parse_line
from nm28_async.sim.interpreter import merge
from nm28_async.sim.radio import DEFAULT_SIGNAL, Air, Radio, cesq, csq, level
from nm28_async.sim.radio_commands import RadioCommands
from nm28_async.sim.replies import OK, Answer, Change, Later, Reset, fixed


def on(radio: Radio, line: str) -> Answer:
    """What the radio's handler of ``line`` answers (a radio command is always an Answer)."""
    cmd = parse_line(line.encode())
    answer = RadioCommands(radio).table()[cmd.head](cmd)
    assert isinstance(answer, Answer)
    return answer


def with_modes(n: int, air: Air | None = None) -> Radio:
    radio = Radio(air or Air())
    for domain in ("+C5GREG", "+CEREG", "+CGREG", "+CREG"):
        radio.set_mode(domain, n)
    return radio


# scales --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dbm", "index"),
    [(None, 99), (-120, 0), (-113, 0), (-111, 1), (-65, 24), (-53, 30), (-51, 31), (-20, 31)],
)
def test_csq_rssi_scale(dbm: float | None, index: int) -> None:
    """27.007 ``<rssi>``: 0 is -113 dBm or less, 2 dBm a step, 31 is -51 dBm or more."""
    assert level(dbm, -111, 2, 31, 99) == index


def test_the_default_signal_is_the_csq_the_sim_always_printed() -> None:
    assert csq(DEFAULT_SIGNAL) == "+CSQ: 24,99"
    assert csq(None) == "+CSQ: 99,99"


def test_cesq_fills_the_fields_of_the_technology_it_is_on() -> None:
    signal = Signal(rssi_dbm=-85, rsrp_dbm=-100, rsrq_db=-12, sinr_db=3)
    # NR standalone: SS-RSRQ (-43 dB + 0.5 per step), SS-RSRP (-156 dBm + 1), SS-SINR (-23 dB)
    assert cesq(signal, AccessTechnology.NR_5GCN) == "+CESQ: 99,99,255,255,255,255,63,57,53"
    # LTE: RSRQ (-19.5 dB + 0.5 per step), RSRP (-140 dBm + 1); no SINR field exists for it
    assert cesq(signal, AccessTechnology.E_UTRAN) == "+CESQ: 99,99,255,255,16,41,255,255,255"
    # EN-DC: both
    assert cesq(signal, AccessTechnology.E_UTRA_NR_DUAL) == "+CESQ: 99,99,255,255,16,41,63,57,53"
    assert cesq(None, AccessTechnology.NR_5GCN) == "+CESQ: 99,99,255,255,255,255,255,255,255"
    assert cesq(Signal(), AccessTechnology.NR_5GCN).endswith(",255,255,255")


# registration ---------------------------------------------------------------------------


def test_powers_on_registered_with_every_urc_off() -> None:
    radio = Radio(Air())
    assert radio.registered
    assert radio.pdp_active
    assert on(radio, "AT+CEREG?").lines == ("+CEREG: 0,1", "OK")
    assert on(radio, "AT+C5GREG?").lines == ("+C5GREG: 0,1", "OK")
    assert on(radio, "AT+COPS?").lines == ('+COPS: 0,0,"Yuge Sim",11', "OK")
    assert on(radio, "AT+CGATT?").lines == ("+CGATT: 1", "OK")
    assert on(radio, "AT+CGACT?").lines == ("+CGACT: 1,1", "OK")
    assert on(radio, "AT+CGPADDR").lines == ('+CGPADDR: 1,"10.0.0.2"', "OK")
    assert on(radio, "AT+CGPADDR=1").lines == ('+CGPADDR: 1,"10.0.0.2"', "OK")
    assert on(radio, "AT+CFUN?").lines == ("+CFUN: 1", "OK")
    assert on(radio, "AT+CSQ").lines == ("+CSQ: 24,99", "OK")


def test_the_read_form_follows_n() -> None:
    radio = Radio(Air())
    assert on(radio, "AT+CEREG=2") == OK
    assert on(radio, "AT+CEREG?").lines == ('+CEREG: 2,1,"1A2B","01C2D3E4",11', "OK")
    assert on(radio, "AT+CEREG=") == OK  # an omitted <n> is 0
    assert on(radio, "AT+CEREG?").lines == ("+CEREG: 0,1", "OK")
    assert on(radio, "AT+CREG=?").lines == ("+CREG: (0-3)", "OK")


@pytest.mark.parametrize("line", ["AT+CEREG=4", "AT+CEREG=1,1", "AT+CGPADDR=2", "AT+CFUN=1,2"])
def test_what_the_radio_refuses(line: str) -> None:
    with pytest.raises(LineRejected):
        on(Radio(Air()), line)


def test_what_the_radio_does_not_know() -> None:
    heads = RadioCommands(Radio(Air())).table().keys()
    assert "AT+CSQ?" not in heads
    assert "AT+CEREG" not in heads


@pytest.mark.parametrize(
    ("n", "lost", "regained"),
    [
        (0, (), ()),
        (1, ("+C5GREG: 2", "+CEREG: 2", "+CGREG: 2", "+CREG: 2"), ("+C5GREG: 1", "+CEREG: 1")),
        (2, ("+C5GREG: 2", "+CEREG: 2"), ('+C5GREG: 1,"1A2B","01C2D3E4",11',)),
    ],
)
def test_coverage_lost_and_regained(
    n: int, lost: tuple[str, ...], regained: tuple[str, ...]
) -> None:
    air = Air()
    radio = with_modes(n, air)
    air.coverage = False
    change = radio.follow()
    assert change.data_lost
    assert change.urcs[: len(lost)] == lost
    assert len(change.urcs) == (4 if n else 0)
    assert radio.stat is RegistrationStat.SEARCHING
    assert not radio.pdp_active
    assert radio.cops() == "+COPS: 0"
    assert radio.csq() == "+CSQ: 99,99"
    assert radio.follow() == Change()  # nothing new: no URC twice
    air.coverage = True
    change = radio.follow()
    assert not change.data_lost
    assert change.urcs[: len(regained)] == regained
    assert len(change.urcs) == (4 if n else 0)
    assert radio.pdp_active


def test_a_denied_registration_shows_its_cause_with_n_3() -> None:
    air = Air()
    radio = with_modes(3, air)
    air.registration, air.reject_cause = RegistrationStat.DENIED, 15
    change = radio.follow()
    assert change.data_lost
    assert change.urcs == (
        '+C5GREG: 3,"1A2B","01C2D3E4",11,,,0,15',  # Allowed NSSAI length and list, empty
        '+CEREG: 3,"1A2B","01C2D3E4",11,0,15',
        '+CGREG: 3,"1A2B","01C2D3E4",11,,0,15',  # <rac>, empty
        '+CREG: 3,"1A2B","01C2D3E4",11,0,15',
    )
    assert radio.registration("+CEREG") == '+CEREG: 3,3,"1A2B","01C2D3E4",11,0,15'
    radio.set_mode("+CEREG", 2)
    assert radio.registration("+CEREG") == '+CEREG: 2,3,"1A2B","01C2D3E4",11'
    air.coverage = False  # searching: no cell, no cause
    radio.follow()
    assert radio.registration("+CEREG") == "+CEREG: 2,2"
    assert radio.registration("+CREG") == "+CREG: 3,2"


def test_roaming_is_registered() -> None:
    air = Air(registration=RegistrationStat.ROAMING, technology=AccessTechnology.E_UTRAN)
    radio = Radio(air)
    assert radio.registered
    assert radio.pdp_active
    assert radio.cops() == '+COPS: 0,0,"Yuge Sim",7'


# PDP context ------------------------------------------------------------------------------


def test_a_dropped_pdp_context_stays_down_until_activated() -> None:
    radio = with_modes(2)
    change = radio.deactivate_pdp()
    assert change == Change((), data_lost=True)  # registration is unchanged: no URC
    assert radio.registered
    assert not radio.pdp_active
    assert on(radio, "AT+CGACT?").lines == ("+CGACT: 1,0", "OK")
    assert on(radio, "AT+CGPADDR").lines == ("+CGPADDR: 1", "OK")
    assert on(radio, "AT+CGACT=1,1") == Answer(("OK",), (Change(),))
    assert radio.pdp_active


def test_activation_needs_a_network_and_context_1() -> None:
    air = Air(coverage=False)
    radio = Radio(air)
    with pytest.raises(LineRejected):
        on(radio, "AT+CGACT=1,1")
    air.coverage = True
    radio.follow()
    with pytest.raises(LineRejected):
        on(radio, "AT+CGACT=1,2")
    assert on(radio, "AT+CGACT=0") == Answer(("OK",), (Change((), data_lost=True),))
    assert on(radio, "AT+CGACT=1").lines == ("OK",)


def test_registering_anew_brings_the_context_back() -> None:
    air = Air()
    radio = Radio(air)
    radio.deactivate_pdp()
    air.coverage = False
    assert not radio.follow().data_lost  # it was gone already
    air.coverage = True
    radio.follow()
    assert radio.pdp_active


# CFUN and the wedge ------------------------------------------------------------------------


def test_radio_off_and_on_again_registers_after_a_delay() -> None:
    radio = with_modes(1)
    off = on(radio, "AT+CFUN=0")
    assert off.lines == ("OK",)
    assert off.then == (Change(("+C5GREG: 0", "+CEREG: 0", "+CGREG: 0", "+CREG: 0"), True),)
    assert on(radio, "AT+CFUN?").lines == ("+CFUN: 0", "OK")
    assert radio.csq() == "+CSQ: 99,99"
    back = on(radio, "AT+CFUN=1")
    searching, later = back.then
    assert searching == Change(("+C5GREG: 2", "+CEREG: 2", "+CGREG: 2", "+CREG: 2"), False)
    assert isinstance(later, Later)
    assert later.delay > 0
    assert not radio.registered
    assert later.transition().urcs[0] == "+C5GREG: 1"
    assert radio.pdp_active
    assert on(radio, "AT+CFUN=1").then == (Change(),)  # already on: nothing happens


def test_a_registration_overtaken_by_another_cfun_does_not_land() -> None:
    radio = Radio(Air())
    radio.switch_off(0)
    _, first = radio.switch_on()
    radio.switch_off(4)
    _, second = radio.switch_on()
    assert first is not None
    assert second is not None
    assert first.transition() == Change()
    assert not radio.registered
    assert second.transition().urcs == ()
    assert radio.registered


def test_a_reset_is_asked_for_with_cfun_1_1_only() -> None:
    radio = Radio(Air())
    assert on(radio, "AT+CFUN=1,1") == Answer(("OK",), (Reset(),))
    with pytest.raises(LineRejected):
        on(radio, "AT+CFUN=0,1")
    with pytest.raises(LineRejected):
        on(radio, "AT+CFUN=2")


def test_only_a_cycle_of_the_radio_clears_a_wedge() -> None:
    radio = Radio(Air())
    radio.wedged = True
    radio.switch_on()
    assert radio.wedged  # on already: not a cycle
    radio.switch_off(0)
    assert radio.wedged
    radio.switch_on()
    assert not radio.wedged


# the dispatch table -----------------------------------------------------------------------


def test_one_table_refuses_a_command_claimed_twice() -> None:
    with pytest.raises(ValueError, match="AT\\+CSQ"):
        merge({"AT+CSQ": fixed("+CSQ: 1,99")}, RadioCommands(Radio(Air())).table())
