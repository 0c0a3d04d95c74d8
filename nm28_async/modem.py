"""Modem: the engine, its six MQTT clients, and the `async with` helpers built on them.

It sits above every layer it offers (engine, client, connection, supervision), so that none
of them imports it: the dependency runs one way.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import cached_property
from typing import Any

from .client import MqttClient
from .connection import connected
from .engine import Engine, Urc
from .params import ConnectionParams
from .protocol import commands, limits
from .supervisor import Backoff, Session, supervised


class Modem(Engine):
    """One NM28 on one port. Create it with `Modem.open(...)` in an `async with`."""

    def client(self, index: int) -> MqttClient:
        """The MQTT client at `index` (0..5): the same object on every call."""
        commands.check_index(index)
        return self.clients[index]

    @cached_property
    def clients(self) -> tuple[MqttClient, ...]:
        return tuple(MqttClient(self, index) for index in limits.CLIENT_INDEXES)

    def mqtt(
        self,
        index: int,
        host: str,
        port: int,
        *,
        client_id: str,
        username: str = "",
        password: str = "",
        **config: Any,
    ) -> AbstractAsyncContextManager[MqttClient]:
        """`async with modem.mqtt(0, host, 1883, client_id=...) as client:` configures (any
        `MqttClient.configure` keyword), opens and connects; disconnects and closes on exit.
        Every argument is checked here: a bad one is a ValueError at the call."""
        client = self.client(index)
        params = ConnectionParams(
            host=host, port=port, client_id=client_id, username=username, password=password,
            **config,
        )  # fmt: skip
        return connected(client, params)

    def session(
        self,
        index: int,
        host: str,
        port: int,
        *,
        client_id: str,
        username: str = "",
        password: str = "",
        backoff: Backoff | None = None,
        poll_interval: float = 30.0,
        outbox_size: int = 100,
        publish_timeout: float | None = 60.0,
        status_urc: Callable[[Urc], bool] | None = None,
        **config: Any,
    ) -> AbstractAsyncContextManager[Session]:
        """A supervised client: kept configured (`config` as for `MqttClient.configure`),
        open, connected and subscribed, reconnecting with backoff. See `Session`. Every
        argument is checked here: a bad one is a ValueError at the call."""
        client = self.client(index)
        params = ConnectionParams(
            host=host, port=port, client_id=client_id, username=username, password=password,
            **config,
        )  # fmt: skip
        session = Session(
            self,
            client,
            params,
            backoff=backoff,
            poll_interval=poll_interval,
            outbox_size=outbox_size,
            publish_timeout=publish_timeout,
            status_urc=status_urc,
        )
        return supervised(session)

    def _rebooted(self) -> None:
        for client in self.clients:
            client._reset()
