"""The engine layer: one port, the conversation driven over it, and where its output goes."""

from .core import Engine
from .memory_port import MemoryLine
from .port import Port, PortOpener
from .queues import MessageQueue
from .settings import EngineOptions, EngineSettings

__all__ = [
    "Engine",
    "EngineOptions",
    "EngineSettings",
    "MemoryLine",
    "MessageQueue",
    "Port",
    "PortOpener",
]
