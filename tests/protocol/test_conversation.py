"""The AT conversation in memory: every ordering of result line, OK, URC, prompt, timeout,
cancellation and reboot, on a fake clock."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.talk import LOCAL, NETWORK, Talk

from nm28_async.engine import EngineSettings
from nm28_async.protocol import commands as c
from nm28_async.protocol.conversation import (
    FRAME_QUIET_GAP,
    QUIET_AFTER_PROBE,
    Completed,
    Failed,
    Failure,
    Progress,
    Rebooted,
    UnexpectedFinal,
    Unsolicited,
)
from nm28_async.protocol.events import Final, FinalKind, Message, ResultLine, TextLine
from nm28_async.protocol.limits import (
    DEFAULT_PACKET_RETRIES as DEFAULT_RETRIES,
)
from nm28_async.protocol.limits import (
    DEFAULT_PACKET_TIMEOUT_S as DEFAULT_PKT_TIMEOUT,
)
from nm28_async.protocol.limits import (
    network_timeout,
)
from nm28_async.protocol.results import Answer, OpenAnswer, PublishAnswer, SubscribeAnswer

OK = b"\r\nOK\r\n"
OPEN = c.open_network(0, "broker", 1883)
OPEN_LINE = b'AT+MQTTOPEN=0,"broker",1883\r'


def completed(talk: Talk, handle: int) -> Completed:
    outcome = talk.outcome(handle)
    assert isinstance(outcome, Completed), outcome
    return outcome


def failed(talk: Talk, handle: int) -> Failed:
    outcome = talk.outcome(handle)
    assert isinstance(outcome, Failed), outcome
    return outcome


# --- start-up ------------------------------------------------------------------------------


def test_startup_probes_until_answered_then_turns_echo_off() -> None:
    talk = Talk(synchronised=False, probe_timeout=2.0)
    handle = talk.synchronise(2.0)
    assert talk.sent() == b"AT\r"
    talk.wait(1.0)  # the first attempt waits 1 s, then AT again
    assert talk.sent() == b"AT\r"
    talk.module(OK)
    talk.wait(QUIET_AFTER_PROBE)
    assert talk.sent() == b"ATE0\r"
    talk.module(b"ATE0\r\r\nOK\r\n")  # echo still on for this line
    assert completed(talk, handle).lines == ()
    assert talk.conversation.synchronised


def test_startup_absorbs_what_a_previous_host_was_owed() -> None:
    """Answers owed to a host that went away arrive after the probe: none is taken for the
    probe's answer or for the first command's."""
    talk = Talk(synchronised=False)
    handle = talk.synchronise(LOCAL)
    talk.sent()
    talk.module(b"\r\n+MQTTPUBEX: 1,21,0\r\n" + OK + OK)  # a late PUBEX answer, then AT's
    talk.wait(QUIET_AFTER_PROBE / 2)
    talk.module(OK)  # and one more late final
    talk.wait(QUIET_AFTER_PROBE)
    assert talk.sent() == b"ATE0\r"
    talk.module(OK)
    assert isinstance(talk.outcome(handle), Completed)
    query = talk.submit(c.open_query())
    assert talk.sent() == b"AT+MQTTOPEN?\r"
    talk.module(b'\r\n+MQTTOPEN: 0,"h",1883\r\n' + OK)
    assert completed(talk, query).lines == (
        ResultLine("MQTTOPEN", ("0", "h", "1883"), '+MQTTOPEN: 0,"h",1883'),
    )


def test_startup_fails_after_its_attempts() -> None:
    talk = Talk(synchronised=False, probe_timeout=1.0)
    handle = talk.synchronise(1.0)
    talk.wait(100)
    failure = failed(talk, handle)
    assert failure.failure is Failure.UNSYNCHRONISED
    assert "5 attempts" in failure.detail
    assert talk.sent() == b"AT\r" * 5


# --- result lines and OK in either order ---------------------------------------------------


def test_result_before_ok_holds_the_channel_until_ok() -> None:
    """The manual's order: the result line, then OK; the channel is held until OK."""
    talk = Talk()
    first = talk.submit(OPEN)
    second = talk.submit(c.raw("AT+CSQ"))
    assert talk.sent() == OPEN_LINE
    talk.module(b"\r\n+MQTTOPEN:0,0\r\n")
    assert talk.sent() == b""  # still the OPEN's turn
    assert talk.outcome(first) is None
    talk.module(OK)
    assert completed(talk, first).answer == OpenAnswer(0, 0)
    assert talk.sent() == b"AT+CSQ\r"
    talk.module(b"\r\n+CSQ: 24,99\r\n" + OK)
    assert completed(talk, second).lines == (ResultLine("CSQ", ("24", "99"), "+CSQ: 24,99"),)


def test_ok_before_result_frees_the_channel() -> None:
    """OK first: the next command goes while the broker's answer is awaited."""
    talk = Talk()
    first = talk.submit(OPEN)
    second = talk.submit(c.open_network(1, "broker", 1883))
    talk.sent()
    talk.module(OK)
    assert talk.sent() == b'AT+MQTTOPEN=1,"broker",1883\r'
    talk.module(OK + b"\r\n+MQTTOPEN: 1,0\r\n")
    assert completed(talk, second).answer == OpenAnswer(1, 0)
    assert talk.outcome(first) is None
    talk.module(b"\r\n+MQTTOPEN: 0,4\r\n")
    assert completed(talk, first).answer == OpenAnswer(0, 4)


def test_result_line_of_another_message_id_is_not_ours() -> None:
    talk = Talk()
    handle = talk.submit(c.subscribe(0, 7, "t", 1))
    talk.sent()
    talk.module(OK + b"\r\n+MQTTSUB: 0,8,0,1\r\n")
    (urc,) = talk.take()
    assert urc == Unsolicited(ResultLine("MQTTSUB", ("0", "8", "0", "1"), "+MQTTSUB: 0,8,0,1"))
    talk.module(b"\r\n+MQTTSUB: 0,7,0,1\r\n")
    assert completed(talk, handle).answer == SubscribeAnswer(0, 7, 0, 1)


def test_retransmission_is_progress_not_the_end() -> None:
    talk = Talk()
    handle = talk.submit(c.subscribe(0, 7, "t", 1))
    talk.sent()
    talk.module(OK + b"\r\n+MQTTSUB: 0,7,1,1\r\n")
    assert talk.take() == [Progress(handle, SubscribeAnswer(0, 7, 1, 1))]
    talk.module(b"\r\n+MQTTSUB: 0,7,0,1\r\n")
    assert completed(talk, handle).answer == SubscribeAnswer(0, 7, 0, 1)


def test_urcs_and_messages_anywhere_in_an_exchange() -> None:
    """A message between the command and its result, a URC between result and OK."""
    talk = Talk()
    talk.submit(c.subscribe(0, 7, "t", 1))
    talk.sent()
    talk.module(b"\r\n+MQTTRECV: 1,3,t,2,hi\r\n\r\n+MQTTSUB:0,7,0,1\r\n\r\n+CEREG: 1\r\n" + OK)
    events = talk.take()
    assert events[0] == Message(1, 3, "t", b"hi")
    assert events[1] == Unsolicited(ResultLine("CEREG", ("1",), "+CEREG: 1"))
    assert isinstance(events[2], Completed)


def test_text_line_during_an_mqtt_command_is_a_urc() -> None:
    talk = Talk()
    handle = talk.submit(OPEN)
    talk.sent()
    talk.module(b"\r\nNO CARRIER\r\n\r\n+MQTTOPEN:0,0\r\n" + OK)
    result = ResultLine("MQTTOPEN", ("0", "0"), "+MQTTOPEN:0,0")
    assert talk.take() == [
        Unsolicited(TextLine("NO CARRIER")),
        Completed(handle, (), OpenAnswer(0, 0), result),
    ]


def test_text_lines_answer_a_query() -> None:
    talk = Talk()
    handle = talk.submit(c.raw("ATI"))
    talk.sent()
    talk.module(b"\r\nYuge\r\nNM28\r\n" + OK)
    assert completed(talk, handle).lines == (TextLine("Yuge"), TextLine("NM28"))


def test_result_line_timeout_after_ok() -> None:
    talk = Talk()
    handle = talk.submit(OPEN, network=10)
    talk.sent()
    talk.module(OK)
    talk.wait(9.9)
    assert talk.outcome(handle) is None
    talk.wait(0.2)
    assert failed(talk, handle).failure is Failure.NO_RESULT
    talk.module(b"\r\n+MQTTOPEN: 0,0\r\n")  # too late: nobody's
    assert talk.take()[-1] == Unsolicited(ResultLine("MQTTOPEN", ("0", "0"), "+MQTTOPEN: 0,0"))


def test_same_result_key_twice_is_busy_and_writes_nothing() -> None:
    talk = Talk()
    talk.submit(OPEN)
    second = talk.submit(OPEN)
    assert talk.sent() == OPEN_LINE
    assert failed(talk, second).failure is Failure.BUSY


# --- network-bound finals (the manual's order) ----------------------------------------------


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        (OPEN, b"+MQTTOPEN:0,0"),
        (c.close_network(0), b"+MQTTCLOSE:0,0"),
        (c.connect(0, "id", "user", "pw"), b"+MQTTCONN:0,0,0"),
        (c.disconnect(0), b"+MQTTDISC:0,0"),
        (c.subscribe(0, 1, "t", 1), b"+MQTTSUB:0,1,0,1"),
        (c.unsubscribe(0, 1, "t"), b"+MQTTUNS:0,1,0"),
        (c.ctwing_post_version(0), b"+CTWINGPOSTVER:0"),
    ],
)
def test_network_bound_final_waits_for_the_network(command: c.Command, answer: bytes) -> None:
    """Result line and OK 20 s later, beyond the local timeout: the command succeeds."""
    talk = Talk()
    handle = talk.submit(command, local=5, network=45)
    talk.sent()
    talk.wait(20)
    assert talk.outcome(handle) is None
    talk.module(b"\r\n" + answer + b"\r\n" + OK)
    assert isinstance(talk.outcome(handle), Completed)


def test_network_bound_publish_final_waits_for_the_network() -> None:
    talk = Talk()
    handle = talk.submit(c.publish(0, 1, "t", b"x", qos=1), local=5, network=45)
    talk.sent()
    talk.module(b"\r\nCONNECT\r\n")
    assert talk.sent() == b"x\x1a"
    talk.wait(30)
    talk.module(b"\r\n+MQTTPUBEX:0,1,0\r\n" + OK)
    assert completed(talk, handle).answer == PublishAnswer(0, 1, (0,))


def test_local_command_keeps_the_local_timeout() -> None:
    talk = Talk()
    handle = talk.submit(c.raw("AT+CSQ"), local=5, network=45)
    talk.sent()
    talk.wait(5.1)
    assert failed(talk, handle).failure is Failure.TIMED_OUT


# --- timeouts, late finals, probes -----------------------------------------------------------


def test_late_final_of_a_timed_out_command_is_absorbed_by_a_probe() -> None:
    talk = Talk()
    slow = talk.submit(c.raw("AT+CSQ"), local=1)
    talk.sent()
    talk.wait(1.1)
    assert failed(talk, slow).failure is Failure.TIMED_OUT
    nxt = talk.submit(c.raw("AT+CGMR"))
    assert talk.sent() == b"AT\r"  # the probe first
    talk.module(OK + OK)  # the late OK, then the probe's
    assert talk.sent() == b"AT+CGMR\r"
    talk.module(b"\r\nOK\r\n")
    assert completed(talk, nxt).lines == ()
    assert talk.conversation.statistics.late_finals == 1


def test_probe_waits_quietly_when_the_late_final_never_comes() -> None:
    talk = Talk()
    slow = talk.submit(c.raw("AT+CSQ"), local=1)
    talk.sent()
    talk.wait(1.1)
    assert isinstance(talk.outcome(slow), Failed)
    nxt = talk.submit(c.raw("AT+CGMR"))
    assert talk.sent() == b"AT\r"
    talk.module(OK)  # only the probe's
    assert talk.sent() == b""
    talk.wait(QUIET_AFTER_PROBE)
    assert talk.sent() == b"AT+CGMR\r"
    talk.module(OK)
    assert isinstance(talk.outcome(nxt), Completed)


def test_probe_never_takes_a_prompt_for_its_answer() -> None:
    talk = Talk()
    slow = talk.submit(c.raw("AT+CSQ"), local=1)
    talk.sent()
    talk.wait(1.1)
    assert isinstance(talk.outcome(slow), Failed)
    nxt = talk.submit(c.raw("AT+CGMR"))
    assert talk.sent() == b"AT\r"
    talk.module(b"\r\nCONNECT\r\n")
    talk.wait(0.5)
    assert talk.sent() == b""  # nothing written on a prompt
    assert talk.outcome(nxt) is None
    assert talk.conversation.statistics.unexpected_prompts == 1


def test_unexpected_final_is_reported() -> None:
    talk = Talk()
    talk.module(OK)
    assert talk.take() == [UnexpectedFinal(Final(FinalKind.OK))]


# --- publish and its prompt ------------------------------------------------------------------


def test_no_payload_byte_before_the_prompt_and_none_on_error() -> None:
    talk = Talk()
    handle = talk.submit(c.publish(0, 1, "t", b"payload"))
    assert talk.sent() == b'AT+MQTTPUBEX=0,1,0,0,0,"t",7\r'
    talk.wait(0.5)
    assert talk.sent() == b""
    talk.module(b"\r\nERROR\r\n")
    assert failed(talk, handle).failure is Failure.REFUSED
    assert talk.sent() == b""


def test_late_prompt_writes_the_payload_never_a_command() -> None:
    """The prompt comes after the caller's timeout: the payload it was given goes, and the
    command queued meanwhile waits until the publish's final code."""
    talk = Talk()
    publish = talk.submit(c.publish(0, 1, "t", b"payload"), local=1)
    talk.sent()
    talk.wait(1.1)
    assert failed(talk, publish).failure is Failure.TIMED_OUT  # outcome unknown
    nxt = talk.submit(c.connect(0, "id", "user", "secret"))
    talk.wait(0.5)
    assert talk.sent() == b""  # the module may be about to enter data mode
    talk.module(b"\r\nCONNECT\r\n")
    assert talk.sent() == b"payload\x1a"
    talk.module(b"\r\n+MQTTPUBEX:0,1,0\r\n" + OK)
    assert talk.sent() == b'AT+MQTTCONN=0,"id","user","secret"\r'
    talk.module(b"\r\n+MQTTCONN:0,0,0\r\n" + OK)
    assert isinstance(talk.outcome(nxt), Completed)


def test_late_prompt_while_idle_writes_the_payload() -> None:
    talk = Talk()
    publish = talk.submit(c.publish(0, 1, "t", b"payload"), local=1)
    talk.sent()
    talk.wait(2.0)
    assert isinstance(talk.outcome(publish), Failed)
    talk.module(b"\r\nCONNECT\r\n")
    assert talk.sent() == b"payload\x1a"
    talk.module(b"\r\n+MQTTPUBEX:0,1,0\r\n" + OK)
    assert not any(isinstance(e, UnexpectedFinal) for e in talk.take())


def test_prompt_that_never_comes_releases_the_channel_after_the_network_deadline() -> None:
    talk = Talk()
    publish = talk.submit(c.publish(0, 1, "t", b"payload"), local=1, network=10)
    talk.sent()
    nxt = talk.submit(c.raw("AT+CSQ"))
    talk.wait(9.5)
    assert isinstance(talk.outcome(publish), Failed)
    assert talk.sent() == b""
    talk.wait(1.0)
    assert talk.sent() == b"AT\r"  # a probe: the publish's final is owed
    talk.module(OK)
    talk.wait(QUIET_AFTER_PROBE)
    assert talk.sent() == b"AT+CSQ\r"
    talk.module(b"\r\n+CSQ: 24,99\r\n" + OK)
    assert isinstance(talk.outcome(nxt), Completed)


# --- cancellation ----------------------------------------------------------------------------


def test_cancelled_queued_command_is_never_written() -> None:
    talk = Talk()
    first = talk.submit(c.raw("AT+CSQ"))
    second = talk.submit(c.raw("AT+CGMR"))
    third = talk.submit(c.raw("ATI"))
    talk.conversation.cancel(second, talk.now)
    assert talk.sent() == b"AT+CSQ\r"
    talk.module(OK)
    assert talk.sent() == b"ATI\r"
    talk.module(OK)
    assert isinstance(talk.outcome(first), Completed)
    assert isinstance(talk.outcome(third), Completed)
    assert talk.outcome(second) is None


def test_cancelled_command_on_the_wire_keeps_the_channel_until_its_final() -> None:
    talk = Talk()
    first = talk.submit(c.raw("AT+CSQ"))
    talk.sent()
    talk.conversation.cancel(first, talk.now)
    second = talk.submit(c.raw("AT+CGMR"))
    assert talk.sent() == b""
    talk.module(OK)  # the cancelled command's final: not the next one's
    assert talk.sent() == b"AT+CGMR\r"
    talk.module(b"\r\nNM28_V1\r\n" + OK)
    assert completed(talk, second).lines == (TextLine("NM28_V1"),)
    assert talk.outcome(first) is None


def test_cancelled_publish_before_its_prompt_still_writes_its_payload() -> None:
    talk = Talk()
    publish = talk.submit(c.publish(0, 1, "t", b"abc"))
    talk.sent()
    talk.conversation.cancel(publish, talk.now)
    talk.module(b"\r\nCONNECT\r\n")
    assert talk.sent() == b"abc\x1a"
    talk.module(b"\r\n+MQTTPUBEX:0,1,0\r\n" + OK)
    assert talk.take() == [
        Unsolicited(ResultLine("MQTTPUBEX", ("0", "1", "0"), "+MQTTPUBEX:0,1,0"))
    ]


def test_cancel_frees_the_result_key() -> None:
    talk = Talk()
    first = talk.submit(OPEN)
    talk.sent()
    talk.module(OK)
    talk.conversation.cancel(first, talk.now)
    again = talk.submit(OPEN)
    assert talk.sent() == OPEN_LINE
    talk.module(OK + b"\r\n+MQTTOPEN: 0,0\r\n")
    assert completed(talk, again).answer == OpenAnswer(0, 0)


# --- reboot ---------------------------------------------------------------------------------


def test_reboot_fails_what_is_in_flight_and_resynchronises() -> None:
    talk = Talk()
    waiting = talk.submit(OPEN)
    talk.sent()
    talk.module(OK)  # OPEN's result still to come
    on_wire = talk.submit(c.raw("AT+CSQ"))
    queued = talk.submit(c.raw("AT+CGMR"))
    assert talk.sent() == b"AT+CSQ\r"
    talk.module(b"\r\nRDY\r\n")
    assert failed(talk, waiting).failure is Failure.REBOOTED
    assert failed(talk, on_wire).failure is Failure.REBOOTED
    assert any(isinstance(e, Rebooted) for e in talk.take())
    assert talk.sent() == b"AT\r"
    talk.module(b"AT\r" + OK)
    talk.wait(QUIET_AFTER_PROBE)
    assert talk.sent() == b"ATE0\r"
    talk.module(OK)
    assert talk.sent() == b"AT+CGMR\r"
    talk.module(OK)
    assert isinstance(talk.outcome(queued), Completed)


# --- a declared length longer than what was sent -------------------------------------------


def test_phantom_length_costs_one_message_not_the_commands() -> None:
    """`+MQTTRECV: 0,1,t,200,short` swallows the OK of the command in flight; the quiet gap
    ends the frame, the OK is read again, and the commands after it succeed."""
    talk = Talk()
    first = talk.submit(c.raw("AT+CSQ"))
    talk.sent()
    talk.module(b"\r\n+MQTTRECV: 0,1,t,200,short\r\n\r\n+CSQ: 24,99\r\n" + OK)
    assert talk.outcome(first) is None
    talk.wait(FRAME_QUIET_GAP)
    events = talk.take()
    assert events[0] == Message(0, 1, "t", b"short", True)
    assert isinstance(events[-1], Completed)
    for command in (c.raw("AT+CGMR"), c.raw("ATI")):
        handle = talk.submit(command)
        assert talk.sent() == command.line  # no probe: nothing is owed
        talk.module(OK)
        assert isinstance(talk.outcome(handle), Completed)


def test_harness_timeouts_are_the_engines_defaults() -> None:
    """The harness's deadlines are the engine's: its default command timeout, and the network
    deadline that follows from the module's default packet timeout and retries."""
    command_timeout = EngineSettings().command_timeout
    assert command_timeout == LOCAL
    assert network_timeout(DEFAULT_PKT_TIMEOUT, DEFAULT_RETRIES, command_timeout) == NETWORK


# --- any interleaving ------------------------------------------------------------------------

ATTACKER_PAYLOADS = st.lists(
    st.sampled_from([b"\r\nOK\r\n", b"RDY", b"\r\n", b"CONNECT", b"+MQTTSUB:0,1,0,1", b"x"]),
    max_size=6,
).map(b"".join)


class Module:
    """A module that answers each command line in turn, in an order the test draws: URCs and
    messages anywhere, results before or after OK (and then later still)."""

    def __init__(self, talk: Talk, data: st.DataObject) -> None:
        self.talk = talk
        self.data = data
        self.late: list[bytes] = []
        self.messages: list[Message] = []
        self.packet = 0

    def say(self, text: bytes) -> None:
        """Send `text` in random pieces, with module noise and delivered messages between
        whole lines."""
        out = b""
        for line in text.split(b"\r\n"):
            if line and self.data.draw(st.booleans()):
                out += self.noise()
            out += line + b"\r\n"
        cuts = self.data.draw(st.lists(st.integers(0, len(out)), max_size=4))
        bounds = [0, *sorted(cuts), len(out)]
        for a, b in pairwise(bounds):
            self.talk.module(out[a:b])

    def noise(self) -> bytes:
        kind = self.data.draw(st.integers(0, 3))
        if kind == 0 and self.late:
            return b"\r\n" + self.late.pop(0) + b"\r\n"
        if kind == 1:
            self.packet += 1
            payload = self.data.draw(ATTACKER_PAYLOADS)
            self.messages.append(Message(2, self.packet, "dev/a,b", payload))
            return b"\r\n+MQTTRECV: 2,%d,dev/a,b,%d,%s\r\n" % (self.packet, len(payload), payload)
        if kind == 2:
            return b"\r\n+CEREG: 1\r\n"
        return b""

    def answer(self, result: bytes | None, info: bytes = b"") -> None:
        if result is not None and self.data.draw(st.booleans()):
            self.say(info + b"\r\n" + result + b"\r\n\r\nOK\r\n")  # the manual's order
            return
        self.say(info + b"\r\nOK\r\n")
        if result is not None:
            self.late.append(result)


COMMANDS = st.sampled_from(["csq", "ati", "open", "sub", "pub"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_property_any_interleaving_completes_every_command(data: st.DataObject) -> None:
    """Commands in flight, results in either order, late results, URCs and messages whose
    payloads hold `OK`, `RDY` and prompts, in any chunking: every command completes with its
    own answer, every message arrives exact, and nothing else happens."""
    talk = Talk()
    module = Module(talk, data)
    kinds = data.draw(st.lists(COMMANDS, min_size=1, max_size=6))
    expected: dict[int, tuple[bytes, Answer | None]] = {}
    for i, kind in enumerate(kinds):
        answer: Answer | None
        if kind == "csq":
            cmd, answer = c.raw("AT+CSQ"), None
        elif kind == "ati":
            cmd, answer = c.raw("ATI"), None
        elif kind == "open":
            cmd, answer = c.open_network(i, "h", 1883), OpenAnswer(i, 0)
        elif kind == "sub":
            cmd, answer = c.subscribe(0, i + 1, "t", 1), SubscribeAnswer(0, i + 1, 0, 1)
        else:
            cmd, answer = c.publish(0, i + 1, "t", b"p\r\nOK"), PublishAnswer(0, i + 1, (0,))
        expected[talk.submit(cmd)] = (cmd.line, answer)
    for line, answer in expected.values():
        assert talk.sent() == line
        if isinstance(answer, OpenAnswer):
            module.answer(b"+MQTTOPEN: %d,0" % answer.client_index)
        elif isinstance(answer, SubscribeAnswer):
            module.answer(b"+MQTTSUB: 0,%d,0,1" % answer.msg_id)
        elif isinstance(answer, PublishAnswer):
            module.say(b"\r\nCONNECT\r\n")
            assert talk.sent() == b"p\r\nOK\x1a"
            module.answer(b"+MQTTPUBEX: 0,%d,0" % answer.msg_id)
        elif line == b"ATI\r":
            module.answer(None, b"\r\nYuge\r\nNM28")
        else:
            module.answer(None, b"\r\n+CSQ: 24,99")
    while module.late:
        module.say(b"\r\n" + module.late.pop(0) + b"\r\n")
    talk.wait(FRAME_QUIET_GAP)
    events = talk.take()
    outcomes = {e.handle: e for e in events if isinstance(e, Completed | Failed)}
    assert set(outcomes) == set(expected)
    for handle, (_, answer) in expected.items():
        outcome = outcomes[handle]
        assert isinstance(outcome, Completed), outcome
        assert outcome.answer == answer
    assert [e for e in events if isinstance(e, Message)] == module.messages
    others = [e for e in events if not isinstance(e, Message | Completed)]
    assert all(isinstance(e, Unsolicited) for e in others), others
    assert talk.sent() == b""
