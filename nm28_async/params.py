"""ConnectionParams: where one client connects, as whom, and with which `AT+MQTTCFG` settings.

`modem.mqtt()`, `modem.session()` and `Session` share this one value instead of each repeating
the long parameter list. It is checked when it is made, by the same encoders that later build
the commands, so a bad argument is a ValueError at the call: before anything is stored, before
a supervisor runs, before a byte is written.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .client import Will, settings_commands
from .protocol import commands
from .protocol.redact import MASK

_CHECK_INDEX = 0
"""Any valid index: the encoders want one, and the checks do not depend on it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionParams:
    """Host, port and credentials of one client, and the `MqttClient.configure` keywords.

    The configure fields mean what they mean there: None (and `will=False`) leaves the module's
    setting untouched. The repr masks the password.
    """

    host: str
    port: int
    client_id: str
    username: str = ""
    password: str = ""
    version: int | None = None
    pdpcid: int | None = None
    ssl: bool | None = None
    ssl_ctx: int = 0
    keepalive: int | None = None
    clean_session: bool | None = None
    pkt_timeout: int | None = None
    retries: int | None = None
    timeout_notice: bool | None = None
    will: Will | bool | None = False
    payload_in_urc: bool | None = None
    length_field: bool | None = None
    cached: bool | None = None

    def __post_init__(self) -> None:
        commands.open_network(_CHECK_INDEX, self.host, self.port)
        commands.connect(_CHECK_INDEX, self.client_id, self.username, self.password)
        settings_commands(_CHECK_INDEX, **self.configure_options())

    def __repr__(self) -> str:
        shown = [
            f"{f.name}={MASK if f.name == 'password' else repr(value)}"
            for f in fields(self)
            if (value := getattr(self, f.name)) != f.default or f.name in ("host", "port")
        ]
        return f"ConnectionParams({', '.join(shown)})"

    def configure_options(self) -> dict[str, Any]:
        """The `MqttClient.configure` keywords that were given (empty: nothing to send)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in _CONNECTION_FIELDS and getattr(self, f.name) != f.default
        }


_CONNECTION_FIELDS = frozenset({"host", "port", "client_id", "username", "password"})
