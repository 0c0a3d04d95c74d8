"""The session layer: one client kept connected (supervision), and `modem.mqtt()`'s
configure-open-connect, above the client layer."""

from .backoff import Backoff
from .connection import connected
from .params import ConnectionParams
from .running import supervised
from .states import LinkState, StateChange
from .supervisor import Session

__all__ = [
    "Backoff",
    "ConnectionParams",
    "LinkState",
    "Session",
    "StateChange",
    "connected",
    "supervised",
]
