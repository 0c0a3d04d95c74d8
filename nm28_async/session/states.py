"""A session's link states, and the changes that `states()` yields."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field


class LinkState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKING_OFF = "backing off"
    NO_NETWORK = "no network"
    """The module is not registered: the session waits for the network, sending nothing."""
    RECOVERING = "recovering"
    """A step of the recovery ladder runs (PDP reactivation, radio cycle, module reset)."""
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class StateChange:
    state: LinkState
    reason: str
    at: float = field(default_factory=time.monotonic)
