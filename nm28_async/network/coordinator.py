"""The module-wide recovery steps, taken for all six sessions by one coordinator.

A PDP reactivation or a radio cycle cuts every client of the module, so two sessions must
never take one at once, and a session that failed because another's step was under way must
not take a second: it waits for the step to end, then simply reconnects.
"""

from __future__ import annotations

import logging

import anyio

from ..engine import Engine
from ..protocol.network_commands import RADIO_OFF, RADIO_ON, RESET_MODULE, activate_pdp
from .ladder import Step

log = logging.getLogger("nm28_async")


class Coordinator:
    """Runs module-wide steps one at a time; `steps_taken` counts them (a generation that
    tells a session whether a step ran since it last looked)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = anyio.Lock()
        self.steps_taken = 0

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def idle(self) -> None:
        """Return once no step is under way."""
        async with self._lock:
            pass

    async def take(self, step: Step, pdp_cid: int, seen: int) -> bool:
        """Take `step` unless another step ran since the caller saw `steps_taken == seen`
        (then the caller only reconnects). True if this call took it."""
        async with self._lock:
            if self.steps_taken != seen:
                return False
            self.steps_taken += 1
            log.warning("recovery: %s", step.value)
            if step is Step.REACTIVATE_PDP:
                await self._engine.execute(activate_pdp(pdp_cid))
            elif step is Step.CYCLE_RADIO:
                await self._engine.execute(RADIO_OFF)
                await self._engine.execute(RADIO_ON)
            elif step is Step.RESET_MODULE:
                await self._engine.execute(RESET_MODULE)
            return True
