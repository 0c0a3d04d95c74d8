"""An MQTT broker inside the simulator's process, for machines without mosquitto."""

from __future__ import annotations

import errno
import gc
import socket
import warnings
from typing import Any

from amqtt.broker import Broker
from amqtt.errors import BrokerError

from .lifecycle import StartStop


class EmbeddedBroker(StartStop):
    """amqtt on a loopback TCP port, anonymous access allowed.

    ``port`` 0 picks a free port; read the chosen one from ``port`` after ``start``.
    """

    PORT_ATTEMPTS = 5
    """Free ports tried when another process takes the one picked before amqtt binds it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._broker: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        if self._broker is not None:
            raise RuntimeError("broker already started")
        if self.port != 0:
            self._broker = await self._start_on(self.port)
            return
        # amqtt tells no bound port through its API: pick a free one, then bind amqtt to it
        for attempt in range(self.PORT_ATTEMPTS):
            port = free_port(self.host)
            try:
                self._broker = await self._start_on(port)
            except BrokerError as exc:
                taken = (
                    isinstance(exc.__cause__, OSError) and exc.__cause__.errno == errno.EADDRINUSE
                )
                if not taken or attempt == self.PORT_ATTEMPTS - 1:
                    raise
                continue
            self.port = port
            return

    async def _start_on(self, port: int) -> Any:
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        broker = Broker(config)
        await broker.start()
        return broker

    async def stop(self) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.shutdown()
            del broker
            # amqtt 0.12 leaves the transports of connections that were open at shutdown for
            # the garbage collector; collect them here, where their ResourceWarning is known.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()


def free_port(host: str) -> int:
    """A TCP port free on ``host`` now (another process may take it before it is bound)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
