"""The virtual NM28: the manual's AT interface on a pty or TCP port, real MQTT behind it."""

from .broker import EmbeddedBroker
from .modem import VirtualModem
from .replay import ReplayModule

__all__ = ["EmbeddedBroker", "ReplayModule", "VirtualModem"]
