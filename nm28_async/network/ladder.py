"""The recovery ladder: which step a session takes after how many consecutive failures.

Pure bookkeeping (no I/O, no clock): the session reports each attempt's outcome, the ladder
answers with the step to take before the next attempt. A success resets it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..protocol import commands, limits


class Step(enum.Enum):
    """A rung of the ladder, lowest first."""

    RECONNECT = "reconnect"
    REACTIVATE_PDP = "PDP context reactivation"
    CYCLE_RADIO = "radio off and on"
    RESET_MODULE = "module reset"

    @property
    def module_wide(self) -> bool:
        """Whether the step touches every client of the module (one coordinator runs it)."""
        return self is not Step.RECONNECT


@dataclass(frozen=True, slots=True)
class Recovery:
    """How a session recovers a link that keeps failing (`modem.session(recovery=...)`).

    While the module is not registered the session sends nothing and waits
    (`LinkState.NO_NETWORK`), woken by the registration URCs or a read every
    `registration_poll` seconds. While registered, after `reactivate_pdp_after` consecutive
    failed connection attempts it reactivates PDP context `pdp_cid`, after
    `cycle_radio_after` it turns the radio off and on, and, only if `reset_module_after` is
    set, after that many it resets the module. `hung_after` consecutive command timeouts
    (a module that stopped answering, ModemManager's rule) cycle the radio at once. After
    the top step the count starts again.
    """

    reactivate_pdp_after: int = 3
    cycle_radio_after: int = 6
    reset_module_after: int | None = None
    hung_after: int = 3
    registration_poll: float = 30.0
    pdp_cid: int = 1

    def __post_init__(self) -> None:
        for name in ("reactivate_pdp_after", "cycle_radio_after", "hung_after"):
            commands.check_int(name, getattr(self, name), range(1, 1 << 16))
        if self.reset_module_after is not None:
            commands.check_int("reset_module_after", self.reset_module_after, range(1, 1 << 16))
        if not self.reactivate_pdp_after < self.cycle_radio_after:
            raise ValueError("reactivate_pdp_after must be below cycle_radio_after")
        if (
            self.reset_module_after is not None
            and self.reset_module_after <= self.cycle_radio_after
        ):
            raise ValueError("reset_module_after must be above cycle_radio_after")
        commands.check_duration("registration_poll", self.registration_poll)
        commands.check_int("pdp_cid", self.pdp_cid, limits.PDP_CIDS)

    def step_after(self, failures: int) -> Step:
        """The step to take once `failures` consecutive attempts failed."""
        if failures == self.reset_module_after:
            return Step.RESET_MODULE
        if failures == self.cycle_radio_after:
            return Step.CYCLE_RADIO
        if failures == self.reactivate_pdp_after:
            return Step.REACTIVATE_PDP
        return Step.RECONNECT

    @property
    def top(self) -> int:
        """The failure count of the highest step: past it, the ladder starts again."""
        return (
            self.cycle_radio_after if self.reset_module_after is None else self.reset_module_after
        )


class Ladder:
    """One session's climb: consecutive failures and consecutive command timeouts."""

    def __init__(self, recovery: Recovery) -> None:
        self.recovery = recovery
        self.failures = 0
        self.timeouts = 0

    def failed(self, *, timed_out: bool) -> Step:
        """An attempt failed (`timed_out`: a command got no answer); the step to take."""
        self.failures += 1
        self.timeouts = self.timeouts + 1 if timed_out else 0
        if self.timeouts >= self.recovery.hung_after:
            self.timeouts = 0
            self.failures = max(self.failures, self.recovery.cycle_radio_after)
            step = Step.CYCLE_RADIO
        else:
            step = self.recovery.step_after(self.failures)
        if self.failures >= self.recovery.top:
            self.failures = 0
        return step

    def succeeded(self) -> None:
        self.failures = 0
        self.timeouts = 0
