"""The virtual NM28: the manual's AT interface on a pty or TCP port, real MQTT behind it."""

from .broker import EmbeddedBroker
from .interpreter import InputMode
from .replay import ReplayModule, read_recording
from .virtual_modem import VirtualModem

__all__ = ["EmbeddedBroker", "InputMode", "ReplayModule", "VirtualModem", "read_recording"]
