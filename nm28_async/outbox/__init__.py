"""Store-and-forward outbox: `enqueue` stores a message (durably with `SqliteStore`), one
`Sender` per session delivers in order whenever the link is up (gateway.md, "Durable
outbox")."""

from .entry import Entry, Message, OutboxStats
from .memory_store import MemoryStore
from .rules import DEFAULT_MAX_REFUSALS, DEFAULT_SIZE, Policy
from .sender import Deliver, Outcome, Sender, WaitLink
from .sqlite_store import SqliteStore
from .store import OutboxStore

__all__ = [
    "DEFAULT_MAX_REFUSALS",
    "DEFAULT_SIZE",
    "Deliver",
    "Entry",
    "MemoryStore",
    "Message",
    "OutboxStats",
    "OutboxStore",
    "Outcome",
    "Policy",
    "Sender",
    "SqliteStore",
    "WaitLink",
]
