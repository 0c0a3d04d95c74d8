"""Modem: the engine, its six MQTT clients, and the `async with` helpers built on them.

A composition, above every layer it offers (engine, client, session), so that none of them
imports it: the dependency runs one way.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Self, Unpack

from .client import MqttClient, MqttSettings, query_config, query_connections, query_open
from .engine import Engine, EngineOptions, EngineSettings, PortOpener
from .engine.serial_port import open_serial_port
from .errors import Nm28Error
from .network import Coordinator, NetworkMonitor, Recovery
from .outbox import Policy
from .overflow import Overflow
from .protocol import commands, limits
from .protocol.commands import Command
from .protocol.conversation import Completed, Statistics
from .protocol.events import Final, Urc
from .protocol.results import ClientConfig
from .session import Backoff, ConnectionParams, Session, connected, guard_factory, supervised


class Modem:
    """One NM28 on one port. Create it with `Modem.open(...)` in an `async with`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clients = tuple(MqttClient(engine, index) for index in limits.CLIENT_INDEXES)
        self.network = NetworkMonitor(engine)
        """Registration, signal and data context (`status()`, `wait_registered()`, `changes()`)."""
        self._coordinator = Coordinator(engine)
        """Takes the module-wide recovery steps for every session of this modem."""

    def __repr__(self) -> str:
        return f"<Modem {self.engine.port} {'closed' if self.closed else 'open'}>"

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        port: str,
        *,
        baudrate: int = 115200,
        record: str | Path | None = None,
        opener: PortOpener = open_serial_port,
        **settings: Unpack[EngineOptions],
    ) -> AsyncIterator[Self]:
        """Open the port, synchronise with the module (`AT` until answered, `ATE0`), yield.

        Every argument is checked before the port is opened (`EngineSettings` says what
        each setting does). `record` names a file that receives every byte each way, timed,
        secrets masked (`nm28 sim --replay` plays it back).
        """
        engine_settings = EngineSettings(**settings)
        async with Engine.open(
            port, engine_settings, baudrate=baudrate, record=record, opener=opener
        ) as engine:
            yield cls(engine)

    # --- the engine's ------------------------------------------------------------------------

    @property
    def port(self) -> str:
        return self.engine.port

    @property
    def settings(self) -> EngineSettings:
        return self.engine.settings

    @property
    def command_timeout(self) -> float:
        return self.engine.settings.command_timeout

    @property
    def closed(self) -> bool:
        return self.engine.closed

    @property
    def statistics(self) -> Statistics:
        """Counters of what was skipped or absorbed: garbage, unexpected finals, reboots..."""
        return self.engine.statistics

    @property
    def reboots(self) -> int:
        return self.engine.reboots

    async def wait_closed(self) -> Nm28Error:
        """Wait until the modem is closed or its port is lost; return the reason."""
        return await self.engine.wait_closed()

    async def command(self, line: str, *, timeout: float | None = None) -> list[str]:
        """Send any AT command; return its information lines (see `Engine.command`)."""
        return await self.engine.command(line, timeout=timeout)

    async def execute(
        self, command: Command, *, timeout: float | None = None,
        result_timeout: float | None = None,
    ) -> Completed:  # fmt: skip
        """Run one encoded command to its end (see `Engine.execute`)."""
        return await self.engine.execute(command, timeout=timeout, result_timeout=result_timeout)

    def urcs(self) -> AsyncIterator[Urc]:
        """Lines no command claimed (registration, banners, unknown URCs), as they come."""
        return self.engine.urcs()

    def add_urc_listener(self, listener: Callable[[Urc], None]) -> Callable[[], None]:
        return self.engine.add_urc_listener(listener)

    def add_unexpected_final_listener(
        self, listener: Callable[[Final], None]
    ) -> Callable[[], None]:
        return self.engine.add_unexpected_final_listener(listener)

    def add_reboot_listener(self, listener: Callable[[Urc], None]) -> Callable[[], None]:
        return self.engine.add_reboot_listener(listener)

    # --- the clients' ------------------------------------------------------------------------

    def client(self, index: int) -> MqttClient:
        """The MQTT client at `index` (0..5): the same object on every call."""
        commands.check_index(index)
        return self.clients[index]

    async def query_config(self) -> dict[int, ClientConfig]:
        """`AT+MQTTCFG?`: every client's configuration as the module reports it."""
        return await query_config(self.engine)

    async def query_open(self) -> dict[int, tuple[str, int]]:
        """`AT+MQTTOPEN?`: host and port of each client whose network is open."""
        return await query_open(self.engine)

    async def query_connections(self) -> dict[int, bool]:
        """`AT+MQTTCONN?`: whether each client reports an MQTT connection."""
        return await query_connections(self.engine)

    def mqtt(
        self,
        index: int,
        host: str,
        port: int,
        *,
        client_id: str,
        username: str = "",
        password: str = "",
        take_over: bool = True,
        **settings: Unpack[MqttSettings],
    ) -> AbstractAsyncContextManager[MqttClient]:
        """`async with modem.mqtt(0, host, 1883, client_id=...) as client:` configures (any
        `MqttSettings` keyword), opens and connects; disconnects and closes on exit.
        Every argument is checked here: a bad one is a ValueError at the call.

        `take_over` (default True): the index named is the caller's, so one the module still
        holds (left open by a process that was killed) is closed and opened again; False
        refuses it (OpenError result 2)."""
        if not isinstance(take_over, bool):
            raise ValueError(f"take_over must be True or False, got {take_over!r}")
        client = self.client(index)
        params = ConnectionParams(
            host=host, port=port, client_id=client_id, username=username, password=password,
            **settings,
        )  # fmt: skip
        return connected(client, params, take_over=take_over)

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
        outbox: str | os.PathLike[str] | None = None,
        outbox_overflow: Overflow = Overflow.DROP_OLDEST,
        max_age: float | None = None,
        recovery: Recovery | None = None,
        **settings: Unpack[MqttSettings],
    ) -> AbstractAsyncContextManager[Session]:
        """A supervised client: kept configured (`settings` as for `MqttClient.configure`),
        open, connected and subscribed, reconnecting with backoff. See `Session`. Every
        argument is checked here: a bad one is a ValueError at the call.

        `session.enqueue()` stores messages in the outbox (on disk at `outbox`, else in
        memory), at most `outbox_size` of them (`outbox_overflow` says what a full one does),
        each for at most `max_age` seconds; see gateway.md, "Durable outbox".

        With `recovery`, the session sends nothing while the module is not registered
        (`LinkState.NO_NETWORK`) and climbs `recovery`'s ladder when connecting keeps
        failing (`LinkState.RECOVERING`); see gateway.md, "The radio"."""
        if recovery is not None and not isinstance(recovery, Recovery):
            raise ValueError(f"recovery must be a Recovery, got {type(recovery).__name__}")
        client = self.client(index)
        params = ConnectionParams(
            host=host, port=port, client_id=client_id, username=username, password=password,
            **settings,
        )  # fmt: skip
        policy = Policy(size=outbox_size, overflow=outbox_overflow, max_age=max_age)
        session = Session(
            self.engine,
            client,
            params,
            backoff=backoff,
            poll_interval=poll_interval,
            outbox_size=outbox_size,
            publish_timeout=publish_timeout,
            status_urc=status_urc,
            outbox=outbox,
            outbox_policy=policy,
            radio=None
            if recovery is None
            else guard_factory(self.network, self._coordinator, recovery),
        )
        return supervised(session)
