"""An MQTT broker inside the simulator's process, for machines without mosquitto."""

from __future__ import annotations

import gc
import warnings
from typing import Any

from amqtt.broker import Broker

from .lifecycle import StartStop


class EmbeddedBroker(StartStop):
    """amqtt on a loopback TCP port, anonymous access allowed.

    ``port`` 0 picks a free port; read the chosen one from ``port`` after ``start``.
    """

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
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        broker = Broker(config)
        await broker.start()
        self._broker = broker
        # amqtt keeps the listening asyncio.Server per listener; port 0 is only known there
        server = broker._servers["default"].instance
        self.port = int(server.sockets[0].getsockname()[1])

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
