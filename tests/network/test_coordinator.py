"""The coordinator on an in-memory line: one module-wide step at a time, a second session's
step skipped when one ran since it looked, and the commands each step sends."""

from __future__ import annotations

import asyncio

import pytest
from support.answering_line import AnsweringModule, answering_modem

from nm28_async.network import Coordinator, Step

LIMIT = 30.0
ANSWERS = {"AT+CFUN=0": "OK", "AT+CFUN=1": "OK", "AT+CGACT=1,1": "OK", "AT+CFUN=1,1": "OK"}


def steps_asked(module: AnsweringModule) -> list[str]:
    return [c for c in module.asked if c.startswith(("AT+CFUN", "AT+CGACT"))]


@pytest.mark.asyncio
async def test_each_step_sends_its_commands() -> None:
    module = AnsweringModule(dict(ANSWERS))
    async with answering_modem(module) as modem:
        coordinator = Coordinator(modem.engine)
        for step in (Step.REACTIVATE_PDP, Step.CYCLE_RADIO, Step.RESET_MODULE):
            assert await asyncio.wait_for(coordinator.take(step, 1, coordinator.steps_taken), LIMIT)
    assert steps_asked(module) == ["AT+CGACT=1,1", "AT+CFUN=0", "AT+CFUN=1", "AT+CFUN=1,1"]


@pytest.mark.asyncio
async def test_two_sessions_failing_together_take_one_radio_cycle() -> None:
    module = AnsweringModule(dict(ANSWERS))
    async with answering_modem(module) as modem:
        coordinator = Coordinator(modem.engine)
        seen = coordinator.steps_taken
        taken = await asyncio.wait_for(
            asyncio.gather(*(coordinator.take(Step.CYCLE_RADIO, 1, seen) for _ in range(6))),
            LIMIT,
        )
        await asyncio.wait_for(coordinator.idle(), LIMIT)
        assert not coordinator.busy
    assert sorted(taken) == [False] * 5 + [True]
    assert steps_asked(module) == ["AT+CFUN=0", "AT+CFUN=1"]
    assert coordinator.steps_taken == seen + 1
