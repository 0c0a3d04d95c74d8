"""nm28_async: an asyncio driver for the MQTT AT interface of the Yuge NM28 5G module."""

from importlib.metadata import PackageNotFoundError, version

from .client import ClientState, MqttClient, MqttSettings, Will
from .engine import EngineSettings
from .errors import (
    CloseError,
    CommandError,
    ConnectError,
    CtwingVersionError,
    DisconnectError,
    ModemClosedError,
    ModuleRebootedError,
    Nm28Error,
    Nm28TimeoutError,
    NotConnectedError,
    OpenError,
    OutboxError,
    OutboxFullError,
    PortLostError,
    PublishError,
    QueueOverflowError,
    ResultCodeError,
    SubscribeError,
    UnsubscribeError,
)
from .modem import Modem
from .network import NetworkMonitor, Recovery, Step
from .outbox import OutboxStats
from .overflow import Overflow
from .protocol.conversation import Statistics
from .protocol.events import Message, RecvNotice, ResultLine, TextLine, Urc
from .protocol.network import (
    Cell,
    NetworkStatus,
    Registration,
    RegistrationChange,
    Signal,
    Technology,
)
from .protocol.results import ClientConfig
from .protocol.topics import topic_matches
from .session import Backoff, ConnectionParams, LinkState, Session, StateChange

try:
    __version__ = version("nm28-async")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Backoff",
    "Cell",
    "ClientConfig",
    "ClientState",
    "CloseError",
    "CommandError",
    "ConnectError",
    "ConnectionParams",
    "CtwingVersionError",
    "DisconnectError",
    "EngineSettings",
    "LinkState",
    "Message",
    "Modem",
    "ModemClosedError",
    "ModuleRebootedError",
    "MqttClient",
    "MqttSettings",
    "NetworkMonitor",
    "NetworkStatus",
    "Nm28Error",
    "Nm28TimeoutError",
    "NotConnectedError",
    "OpenError",
    "OutboxError",
    "OutboxFullError",
    "OutboxStats",
    "Overflow",
    "PortLostError",
    "PublishError",
    "QueueOverflowError",
    "Recovery",
    "RecvNotice",
    "Registration",
    "RegistrationChange",
    "ResultCodeError",
    "ResultLine",
    "Session",
    "Signal",
    "StateChange",
    "Statistics",
    "Step",
    "SubscribeError",
    "Technology",
    "TextLine",
    "UnsubscribeError",
    "Urc",
    "Will",
    "__version__",
    "topic_matches",
]
