"""ConnectionParams: where one client connects, as whom, and with which `AT+MQTTCFG` settings.

`modem.mqtt()`, `modem.session()` and `Session` share this one value instead of each repeating
the long parameter list. It is checked when it is made, by the same encoders that later build
the commands, so a bad argument is a ValueError at the call: before anything is stored, before
a supervisor runs, before a byte is written.
"""

from __future__ import annotations

from typing import Unpack

from ..client import MqttSettings, settings_commands
from ..client.settings import given
from ..protocol import commands
from ..protocol.redact import MASK

_CHECK_INDEX = 0
"""Any valid index: the encoders want one, and the checks do not depend on it."""


class ConnectionParams:
    """Host, port and credentials of one client, and its `MqttSettings` (what to configure).

    The repr masks the password.
    """

    __slots__ = ("_settings", "client_id", "host", "password", "port", "username")

    def __init__(
        self,
        *,
        host: str,
        port: int,
        client_id: str,
        username: str = "",
        password: str = "",
        **settings: Unpack[MqttSettings],
    ) -> None:
        commands.open_network(_CHECK_INDEX, host, port)
        commands.connect(_CHECK_INDEX, client_id, username, password)
        settings_commands(_CHECK_INDEX, settings)
        self.host = host
        self.port = port
        self.client_id = client_id
        self.username = username
        self.password = password
        self._settings = given(settings)

    def __repr__(self) -> str:
        shown = [f"host={self.host!r}", f"port={self.port!r}", f"client_id={self.client_id!r}"]
        if self.username:
            shown.append(f"username={self.username!r}")
        if self.password:
            shown.append(f"password={MASK}")
        shown += [f"{name}={value!r}" for name, value in self._settings.items()]
        return f"ConnectionParams({', '.join(shown)})"

    def with_settings(self, **settings: Unpack[MqttSettings]) -> ConnectionParams:
        """The same connection with these settings changed."""
        merged: MqttSettings = {**self._settings, **settings}
        return ConnectionParams(
            host=self.host, port=self.port, client_id=self.client_id, username=self.username,
            password=self.password, **merged,
        )  # fmt: skip

    def configure_options(self) -> MqttSettings:
        """The `MqttClient.configure` keywords that were given (empty: nothing to send)."""
        return MqttSettings(**self._settings)
