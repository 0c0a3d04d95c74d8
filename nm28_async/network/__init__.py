"""The radio layer: what the module says of its network (`modem.network`), and the recovery
ladder that sessions climb when connecting keeps failing, with the coordinator that takes
the module-wide steps for all of them."""

from .coordinator import Coordinator
from .ladder import Ladder, Recovery, Step
from .monitor import NetworkMonitor, Watch

__all__ = ["Coordinator", "Ladder", "NetworkMonitor", "Recovery", "Step", "Watch"]
