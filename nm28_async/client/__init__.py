"""The client layer: the module's six MQTT clients over the engine."""

from .client import ClientState, MqttClient
from .queries import query_config, query_connections, query_open
from .settings import MqttSettings, Will, settings_commands

__all__ = [
    "ClientState",
    "MqttClient",
    "MqttSettings",
    "Will",
    "query_config",
    "query_connections",
    "query_open",
    "settings_commands",
]
