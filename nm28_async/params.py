"""ConnectionParams: where one client connects, as whom, and with which `AT+MQTTCFG` settings.

`modem.mqtt()`, `modem.session()` and `Session` share this one value instead of each repeating
the long parameter list. It is checked when it is made, by the same encoders that later build
the commands, so a bad argument is a ValueError at the call: before anything is stored, before
a supervisor runs, before a byte is written.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .client import Will
from .engine import DEFAULT_PKT_TIMEOUT, DEFAULT_RETRIES
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
        i = _CHECK_INDEX
        commands.open_network(i, self.host, self.port)
        commands.connect(i, self.client_id, self.username, self.password)
        if self.version is not None:
            commands.cfg_version(i, self.version)
        if self.pdpcid is not None:
            commands.cfg_pdpcid(i, self.pdpcid)
        if self.ssl is not None:
            commands.cfg_ssl(i, self.ssl, self.ssl_ctx)
        if self.keepalive is not None:
            commands.cfg_keepalive(i, self.keepalive)
        if self.clean_session is not None:
            commands.cfg_session(i, self.clean_session)
        if (self.pkt_timeout, self.retries, self.timeout_notice) != (None, None, None):
            commands.cfg_timeout(
                i,
                DEFAULT_PKT_TIMEOUT if self.pkt_timeout is None else self.pkt_timeout,
                DEFAULT_RETRIES if self.retries is None else self.retries,
                False if self.timeout_notice is None else self.timeout_notice,
            )
        if self.will is True or not isinstance(self.will, Will | bool | None):
            raise ValueError("will must be a Will, None (clear) or left out")
        if isinstance(self.will, Will):
            w = self.will
            commands.cfg_will(i, w.topic, w.message, w.qos, w.retain)
        if (self.payload_in_urc, self.length_field) != (None, None):
            commands.cfg_recv_mode(
                i,
                True if self.payload_in_urc is None else self.payload_in_urc,
                True if self.length_field is None else self.length_field,
            )
        if self.cached is not None:
            commands.cfg_cached(i, self.cached)

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

