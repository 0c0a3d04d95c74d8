"""nm28_async: an asyncio driver for the MQTT AT interface of the Yuge NM28 5G module."""

from .client import ClientState, MqttClient, Will
from .engine import Urc
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
from .overflow import Overflow
from .params import ConnectionParams
from .protocol.conversation import Statistics
from .protocol.events import Message, RecvNotice, ResultLine, TextLine
from .protocol.results import ClientConfig
from .protocol.topics import topic_matches
from .supervisor import Backoff, LinkState, Session, StateChange

__all__ = [
    "Backoff",
    "ClientConfig",
    "ClientState",
    "CloseError",
    "CommandError",
    "ConnectError",
    "ConnectionParams",
    "CtwingVersionError",
    "DisconnectError",
    "LinkState",
    "Message",
    "Modem",
    "ModemClosedError",
    "ModuleRebootedError",
    "MqttClient",
    "Nm28Error",
    "Nm28TimeoutError",
    "NotConnectedError",
    "OpenError",
    "OutboxError",
    "OutboxFullError",
    "Overflow",
    "PortLostError",
    "PublishError",
    "QueueOverflowError",
    "RecvNotice",
    "ResultCodeError",
    "ResultLine",
    "Session",
    "StateChange",
    "Statistics",
    "SubscribeError",
    "TextLine",
    "UnsubscribeError",
    "Urc",
    "Will",
    "topic_matches",
]
