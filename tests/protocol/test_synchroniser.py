"""The synchroniser alone: the probe's bytes, its deadlines and its verdicts, on a fake clock."""

from __future__ import annotations

import pytest

from nm28_async.protocol.events import Final, FinalKind
from nm28_async.protocol.outcomes import Statistics
from nm28_async.protocol.synchroniser import (
    QUIET_AFTER_PROBE,
    Synchroniser,
    Unanswered,
    Verdict,
)

OK = Final(FinalKind.OK)
ERROR = Final(FinalKind.ERROR)
PROBE_TIMEOUT = 5.0


class Line:
    """A synchroniser and what it wrote."""

    def __init__(self, attempts: int = 3) -> None:
        self.written: list[bytes] = []
        self.statistics = Statistics()
        self.sync = Synchroniser(
            probe_timeout=PROBE_TIMEOUT,
            attempts=attempts,
            send=lambda data, _log_text: self.written.append(data),
            statistics=self.statistics,
        )

    def sent(self) -> list[bytes]:
        written, self.written = self.written, []
        return written

    def synchronise(self) -> None:
        """Bring it in step: AT, OK, the quiet window, ATE0, OK."""
        assert self.sync.probe_first(0.0)
        assert self.sync.on_final(OK, 0.0) is Verdict.WAIT
        assert self.sync.on_timer(QUIET_AFTER_PROBE) is Verdict.WAIT
        assert self.sync.on_final(OK, QUIET_AFTER_PROBE) is Verdict.FREE
        assert self.sent() == [b"AT\r", b"ATE0\r"]


def test_out_of_step_until_the_first_probe_completes() -> None:
    line = Line()
    assert not line.sync.synchronised
    assert not line.sync.probing
    assert line.sync.deadline is None
    line.synchronise()
    assert line.sync.synchronised
    assert not line.sync.probing
    assert line.sync.deadline is None


def test_in_step_and_owing_nothing_no_probe_precedes_a_command() -> None:
    line = Line()
    line.synchronise()
    assert not line.sync.probe_first(1.0)
    assert line.sent() == []


def test_a_running_probe_holds_the_channel_without_writing_again() -> None:
    line = Line()
    assert line.sync.probe_first(0.0)
    assert line.sync.probe_first(0.1)
    assert line.sent() == [b"AT\r"]


def test_the_quiet_window_waits_for_further_finals_before_echo_off() -> None:
    line = Line()
    line.sync.probe_first(0.0)
    line.sync.on_final(OK, 0.0)
    assert line.sync.deadline == QUIET_AFTER_PROBE
    line.sync.on_final(OK, 0.1)  # owed by a host that went away
    assert line.sync.deadline == pytest.approx(0.1 + QUIET_AFTER_PROBE)
    assert line.statistics.late_finals == 1
    assert line.sync.on_timer(0.2) is Verdict.WAIT  # not due yet
    assert line.sent() == [b"AT\r"]
    assert line.sync.on_timer(0.1 + QUIET_AFTER_PROBE) is Verdict.WAIT
    assert line.sent() == [b"ATE0\r"]
    assert line.sync.deadline == pytest.approx(0.1 + QUIET_AFTER_PROBE + PROBE_TIMEOUT)


def test_echo_off_refused_still_synchronises() -> None:
    line = Line()
    line.sync.probe_first(0.0)
    line.sync.on_final(OK, 0.0)
    line.sync.on_timer(QUIET_AFTER_PROBE)
    assert line.sync.on_final(ERROR, 1.0) is Verdict.FREE
    assert line.sync.synchronised


def test_echo_off_unanswered_synchronises_and_owes_its_final() -> None:
    line = Line()
    line.sync.probe_first(0.0)
    line.sync.on_final(OK, 0.0)
    line.sync.on_timer(QUIET_AFTER_PROBE)
    assert line.sync.on_timer(QUIET_AFTER_PROBE + PROBE_TIMEOUT) is Verdict.FREE
    assert line.sync.synchronised
    line.sent()
    assert line.sync.absorb(OK)
    assert line.statistics.late_finals == 1


def test_at_is_retried_with_growing_deadlines_then_given_up() -> None:
    line = Line(attempts=3)
    line.sync.probe_first(0.0)
    assert line.sync.deadline == 1.0
    assert line.sync.on_timer(1.0) is Verdict.WAIT
    assert line.sync.deadline == 3.0
    assert line.sync.on_timer(3.0) is Verdict.WAIT
    assert line.sync.deadline == 6.0
    verdict = line.sync.on_timer(6.0)
    assert verdict == Unanswered(3)
    assert isinstance(verdict, Unanswered)
    assert verdict.detail == "the module did not answer AT (3 attempts)"
    assert line.sent() == [b"AT\r"] * 3
    assert not line.sync.probing
    assert not line.sync.synchronised
    # The next command is preceded by a whole resynchronisation again.
    assert line.sync.probe_first(7.0)
    assert line.sent() == [b"AT\r"]


def test_a_retry_deadline_never_exceeds_the_probe_timeout() -> None:
    line = Line(attempts=10)
    line.sync.probe_first(0.0)
    now = 0.0
    for _ in range(6):
        now = line.sync.deadline or 0.0
        line.sync.on_timer(now)
    assert line.sync.deadline == now + PROBE_TIMEOUT


def test_a_final_owed_by_a_timed_out_command_is_absorbed_by_one_probe() -> None:
    line = Line()
    line.synchronise()
    line.sync.owe_final()
    assert line.sync.probe_first(1.0)
    assert line.sent() == [b"AT\r"]
    assert line.sync.on_final(OK, 1.1) is Verdict.WAIT  # the late one, or the probe's own
    assert line.sync.on_final(OK, 1.2) is Verdict.FREE  # the other: nothing more is owed
    assert line.statistics.late_finals == 1
    assert line.sent() == []  # in step: no ATE0
    assert not line.sync.probe_first(2.0)


def test_a_lone_owed_final_ends_the_probe_after_the_quiet_window() -> None:
    line = Line()
    line.synchronise()
    line.sync.owe_final()
    line.sync.probe_first(1.0)
    line.sync.on_final(OK, 1.1)
    assert line.sync.on_timer(1.1 + QUIET_AFTER_PROBE) is Verdict.FREE
    assert line.sent() == [b"AT\r"]
    assert not line.sync.probe_first(2.0)


def test_a_probe_for_owed_finals_makes_one_attempt() -> None:
    line = Line(attempts=5)
    line.synchronise()
    line.sync.owe_final()
    line.sync.probe_first(1.0)
    assert line.sync.on_timer(2.0) == Unanswered(1)
    assert line.sync.synchronised  # in step still: only the finals are unaccounted for
    assert line.sync.probe_first(3.0)  # two owed now: the command's and the probe's


def test_absorb_takes_only_what_is_owed() -> None:
    line = Line()
    line.synchronise()
    assert not line.sync.absorb(OK)
    line.sync.owe_final()
    assert line.sync.absorb(ERROR)
    assert not line.sync.absorb(OK)
    assert line.statistics.late_finals == 1


def test_require_resynchronises_before_the_next_command() -> None:
    line = Line()
    line.synchronise()
    line.sync.require()
    assert not line.sync.synchronised
    assert line.sync.probe_first(1.0)
    assert line.sent() == [b"AT\r"]


def test_forget_drops_the_probe_and_what_was_owed() -> None:
    line = Line()
    line.synchronise()
    line.sync.owe_final()
    line.sync.probe_first(1.0)
    line.sync.forget()
    assert not line.sync.probing
    assert line.sync.deadline is None
    assert not line.sync.synchronised
    assert not line.sync.absorb(OK)
    assert line.sync.on_timer(100.0) is Verdict.WAIT
