"""nm28_async: an asyncio driver for the MQTT AT interface of the Yuge NM28 5G module."""

from .client import ClientState, Message, MqttClient, Will
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
    OpenError,
    PortLostError,
    PublishError,
    QueueOverflowError,
    ResultCodeError,
    SubscribeError,
    UnsubscribeError,
)
from .modem import Modem, Urc
from .protocol.results import ClientConfig
from .protocol.topics import topic_matches
from .queues import Overflow

__all__ = [
    "ClientConfig",
    "ClientState",
    "CloseError",
    "CommandError",
    "ConnectError",
    "CtwingVersionError",
    "DisconnectError",
    "Message",
    "Modem",
    "ModemClosedError",
    "ModuleRebootedError",
    "MqttClient",
    "Nm28Error",
    "Nm28TimeoutError",
    "OpenError",
    "Overflow",
    "PortLostError",
    "PublishError",
    "QueueOverflowError",
    "ResultCodeError",
    "SubscribeError",
    "UnsubscribeError",
    "Urc",
    "Will",
    "topic_matches",
]
