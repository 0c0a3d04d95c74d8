"""A session's view of the radio (`modem.session(recovery=...)`): no connection attempt
while the module is not registered, and the recovery ladder when attempts keep failing.

The session calls `ready()` before each attempt, `failed()` after one fails and `succeeded()`
once connected; this part decides what that means for the radio and shows it in the
session's states (`NO_NETWORK`, `RECOVERING`) through `show`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..errors import ConnectError, ModemClosedError, Nm28Error, Nm28TimeoutError, PortLostError
from ..network import Coordinator, Ladder, NetworkMonitor, Recovery
from ..protocol.network import RegistrationChange
from .states import LinkState

log = logging.getLogger("nm28_async")

Show = Callable[[LinkState, str], None]
GuardFactory = Callable[[Show], "RadioGuard"]
"""What a session is given: it makes its guard with its own way of showing states."""


def guard_factory(
    monitor: NetworkMonitor, coordinator: Coordinator, recovery: Recovery
) -> GuardFactory:
    return lambda show: RadioGuard(monitor, coordinator, recovery, show)


class RadioGuard:
    def __init__(
        self, monitor: NetworkMonitor, coordinator: Coordinator, recovery: Recovery, show: Show
    ) -> None:
        self._monitor = monitor
        self._coordinator = coordinator
        self._recovery = recovery
        self._ladder = Ladder(recovery)
        self._show = show
        self._seen = coordinator.steps_taken
        """The coordinator's count when this session's attempt began."""

    async def ready(self) -> None:
        """Wait until an attempt may go out: no module-wide step under way, the module
        registered. Meanwhile the session is NO_NETWORK, with the registration as reason."""
        await self._coordinator.idle()
        self._seen = self._coordinator.steps_taken
        shown: str | None = None
        with self._monitor.watch() as watch:
            await self._monitor.enable_urcs()
            while not (status := await self._monitor.registration()).registered:
                reason = f"not registered: {status.registration.value}"
                if reason != shown:
                    self._show(LinkState.NO_NETWORK, reason)
                    shown = reason
                await watch.wait(self._recovery.registration_poll)
        if shown is not None:
            log.info("the module is registered again (%s)", status.registration.value)

    async def failed(self, error: Nm28Error) -> None:
        """An attempt failed: climb the ladder (unless it failed past the radio: the broker
        reached, its CONNECT refused or cut); a module-wide step is taken by the
        coordinator, unless another session's step ran meanwhile (this one then just
        reconnects). A step that fails is logged: the next attempt says more."""
        if self._coordinator.steps_taken != self._seen:
            return  # another session's step cut this attempt: not a failure of the link
        if isinstance(error, ConnectError):
            # the network opened and the broker was reached: the radio works, MQTT does not
            self._ladder.succeeded()
            return
        step = self._ladder.failed(timed_out=isinstance(error, Nm28TimeoutError))
        if not step.module_wide:
            return
        self._show(LinkState.RECOVERING, f"{step.value} after: {error}")
        try:
            await self._coordinator.take(step, self._recovery.pdp_cid, self._seen)
        except (ModemClosedError, PortLostError):
            raise
        except Nm28Error as exc:
            log.warning("recovery: %s failed: %s", step.value, exc)

    def succeeded(self) -> None:
        self._ladder.succeeded()

    def watch(self, lost: Callable[[str], None]) -> Callable[[], None]:
        """Call `lost` with the reason when the module announces it is no longer registered
        (a link cannot outlive its coverage); returns a function that stops watching."""

        def changed(change: RegistrationChange) -> None:
            if not change.registration.registered:
                lost(f"{change.domain}: {change.registration.value}")

        return self._monitor.add_change_listener(changed)
