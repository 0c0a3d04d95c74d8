"""The session layer: one client kept connected (supervision), and `modem.mqtt()`'s
configure-open-connect, above the client layer."""

from .backoff import Backoff
from .connection import connected
from .params import ConnectionParams
from .radio_guard import RadioGuard, guard_factory
from .running import supervised
from .states import LinkState, StateChange
from .supervisor import Session

__all__ = [
    "Backoff",
    "ConnectionParams",
    "LinkState",
    "RadioGuard",
    "Session",
    "StateChange",
    "connected",
    "guard_factory",
    "supervised",
]
