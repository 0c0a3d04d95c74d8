"""The recovery ladder's bookkeeping: which step after how many failures, timeouts as a
hung module, a success resetting it, and a Recovery refused at the call when it makes no
sense."""

from __future__ import annotations

import pytest

from nm28_async.network import Ladder, Recovery, Step


def climb(ladder: Ladder, count: int, *, timed_out: bool = False) -> list[Step]:
    return [ladder.failed(timed_out=timed_out) for _ in range(count)]


def test_each_threshold_takes_its_step_and_the_ladder_starts_again_after_the_top() -> None:
    ladder = Ladder(Recovery(reactivate_pdp_after=2, cycle_radio_after=4))
    R, P, C = Step.RECONNECT, Step.REACTIVATE_PDP, Step.CYCLE_RADIO
    assert climb(ladder, 8) == [R, P, R, C, R, P, R, C]


def test_the_reset_is_opt_in_and_the_top_step_when_set() -> None:
    plain = Ladder(Recovery())
    assert Step.RESET_MODULE not in climb(plain, 50)
    with_reset = Ladder(Recovery(reactivate_pdp_after=1, cycle_radio_after=2, reset_module_after=3))
    assert climb(with_reset, 4) == [
        Step.REACTIVATE_PDP, Step.CYCLE_RADIO, Step.RESET_MODULE, Step.REACTIVATE_PDP,
    ]  # fmt: skip


def test_a_success_resets_the_count() -> None:
    ladder = Ladder(Recovery(reactivate_pdp_after=3, cycle_radio_after=5))
    climb(ladder, 2)
    ladder.succeeded()
    assert climb(ladder, 3) == [Step.RECONNECT, Step.RECONNECT, Step.REACTIVATE_PDP]


def test_consecutive_command_timeouts_cycle_the_radio_at_once() -> None:
    ladder = Ladder(Recovery(reactivate_pdp_after=5, cycle_radio_after=10, hung_after=2))
    assert climb(ladder, 2, timed_out=True) == [Step.RECONNECT, Step.CYCLE_RADIO]
    # a failure that is not a timeout breaks the run of timeouts
    assert ladder.failed(timed_out=True) is Step.RECONNECT
    assert ladder.failed(timed_out=False) is Step.RECONNECT
    assert ladder.failed(timed_out=True) is Step.RECONNECT


def test_the_module_wide_steps_are_the_ones_above_reconnect() -> None:
    assert [s.module_wide for s in Step] == [False, True, True, True]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reactivate_pdp_after": 0}, "reactivate_pdp_after"),
        ({"cycle_radio_after": 2, "reactivate_pdp_after": 2}, "below cycle_radio_after"),
        ({"reset_module_after": 6}, "above cycle_radio_after"),
        ({"hung_after": True}, "hung_after"),
        ({"registration_poll": 0}, "registration_poll"),
        ({"pdp_cid": 0}, "pdp_cid"),
    ],
)
def test_a_recovery_that_makes_no_sense_is_a_value_error(
    kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        Recovery(**kwargs)  # type: ignore[arg-type]
