"""Putting the channel back in step with the module: `AT` until answered, then `ATE0`.

Nobody knows what the module owes at start-up, after a reboot, or after a command timed out
(its final code may still come). The synchroniser keeps that count and runs the probe that
absorbs those finals before the next command is written; the conversation writes its bytes
(`send`) and acts on its `Verdict`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from .commands import Command
from .events import Final
from .outcomes import Statistics

log = logging.getLogger("nm28_async")

QUIET_AFTER_PROBE = 0.2
"""After the probe's answer, how long to wait for each further final still owed. At start-up
and after a reboot nobody knows what is owed: the probe waits until the module is that long
quiet."""

_PROBE = b"AT\r"
_ECHO_OFF = b"ATE0\r"

SYNCHRONISE = Command(b"", "(synchronise: AT until answered, then ATE0)")
"""Submitted, it resynchronises the channel (start-up): `AT` until answered, then `ATE0`.
Nothing of its own is written; it completes once the probe did, or fails after the
configured attempts."""


class Verdict(enum.Enum):
    """What the conversation must do after the synchroniser handled a final or its timer."""

    WAIT = "nothing: the probe goes on, or none runs"
    FREE = "the channel is free: write the next command"


@dataclass(frozen=True, slots=True)
class Unanswered:
    """Every `AT` of a probe went unanswered: the command waiting for the channel fails."""

    attempts: int

    @property
    def detail(self) -> str:
        return f"the module did not answer AT ({self.attempts} attempts)"


class _Stage(enum.Enum):
    AT = "AT sent"
    QUIET = "absorbing owed finals"
    ECHO_OFF = "ATE0 sent"


class _Probe:
    """`AT` (retried) to resynchronise; then `ATE0` when the module may have rebooted."""

    __slots__ = ("attempt", "attempts", "deadline", "echo_off", "owed", "stage")

    def __init__(self, attempts: int, owed: int, echo_off: bool) -> None:
        self.attempts = attempts
        self.attempt = 0
        self.owed = owed
        self.echo_off = echo_off
        self.stage = _Stage.AT
        self.deadline = 0.0


class Synchroniser:
    """Whether the channel is in step, the finals owed, and the probe that settles both."""

    def __init__(
        self,
        *,
        probe_timeout: float,
        attempts: int,
        send: Callable[[bytes, str], None],
        statistics: Statistics,
    ) -> None:
        self._probe_timeout = probe_timeout
        self._attempts = attempts
        self._send = send
        self._statistics = statistics
        self._probe: _Probe | None = None
        self._needs_sync = True
        self._owed_finals = 0

    @property
    def synchronised(self) -> bool:
        return not self._needs_sync

    @property
    def probing(self) -> bool:
        """A probe holds the channel."""
        return self._probe is not None

    @property
    def deadline(self) -> float | None:
        return None if self._probe is None else self._probe.deadline

    def require(self) -> None:
        """Resynchronise (`AT`, then `ATE0`) before the next command."""
        self._needs_sync = True

    def owe_final(self) -> None:
        """A command timed out: its final code may still come."""
        self._owed_finals += 1

    def forget(self) -> None:
        """The module rebooted: it owes nothing, and its echo is back on."""
        self._probe = None
        self._owed_finals = 0
        self._needs_sync = True

    def probe_first(self, now: float) -> bool:
        """Whether a probe holds the channel before the next command: the one running, or
        one started now because the channel is out of step or owed finals."""
        if self._probe is not None:
            return True
        if self._needs_sync:
            self._start_probe(self._attempts, echo_off=True, now=now)
        elif self._owed_finals:
            self._start_probe(1, echo_off=False, now=now)
        else:
            return False
        return True

    def absorb(self, final: Final) -> bool:
        """A final with nothing on the channel: True if a timed-out command owed it."""
        if not self._owed_finals:
            return False
        self._owed_finals -= 1
        self._statistics.late_finals += 1
        log.info("late %s of a timed-out command absorbed", final.kind.value)
        return True

    def on_final(self, final: Final, now: float) -> Verdict:
        """A final code while probing: the probe's answer, or one owed before it."""
        probe = self._probe
        assert probe is not None
        if probe.stage is _Stage.ECHO_OFF:
            if not final.ok:
                log.warning("the module refused to turn echo off; echoes will be dropped")
            return self._synchronised()
        if probe.stage is _Stage.AT and (probe.owed or probe.echo_off):
            # This final may be a late one owed by a timed-out command, or (at start-up, after
            # a reboot) by commands of a host that went away: wait a moment for the others,
            # the probe's own among them.
            probe.stage = _Stage.QUIET
            probe.deadline = now + QUIET_AFTER_PROBE
            return Verdict.WAIT
        if probe.stage is _Stage.QUIET:
            probe.owed -= 1
            self._statistics.late_finals += 1
            if probe.owed > 0 or probe.echo_off:
                probe.deadline = now + QUIET_AFTER_PROBE
                return Verdict.WAIT
        return self._answered(probe, now)

    def on_timer(self, now: float) -> Verdict | Unanswered:
        """Act on the probe's deadline if it has passed."""
        probe = self._probe
        if probe is None or now < probe.deadline:
            return Verdict.WAIT
        if probe.stage is _Stage.QUIET:
            return self._answered(probe, now)
        probe.owed += 1  # its own final may still come
        if probe.stage is _Stage.ECHO_OFF:
            log.warning("the module did not answer ATE0; echoes will be dropped")
            self._owed_finals = probe.owed
            return self._synchronised()
        if probe.attempt < probe.attempts:
            self._send_probe(probe, now)
            return Verdict.WAIT
        self._probe = None
        self._owed_finals = probe.owed
        return Unanswered(probe.attempts)

    def _start_probe(self, attempts: int, *, echo_off: bool, now: float) -> None:
        self._probe = _Probe(attempts, self._owed_finals, echo_off)
        self._send_probe(self._probe, now)

    def _send_probe(self, probe: _Probe, now: float) -> None:
        probe.attempt += 1
        probe.stage = _Stage.AT
        probe.deadline = now + min(self._probe_timeout, 1.0 * probe.attempt)
        self._send(_PROBE, "AT")

    def _answered(self, probe: _Probe, now: float) -> Verdict:
        self._owed_finals = 0
        if probe.echo_off:
            probe.stage = _Stage.ECHO_OFF
            probe.deadline = now + self._probe_timeout
            self._send(_ECHO_OFF, "ATE0")
            return Verdict.WAIT
        self._probe = None
        return Verdict.FREE

    def _synchronised(self) -> Verdict:
        self._probe = None
        self._needs_sync = False
        log.info("synchronised with the module")
        return Verdict.FREE
