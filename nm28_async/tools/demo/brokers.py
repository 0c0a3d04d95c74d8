"""The demo's broker: yours (`--broker`), else a mosquitto it starts, else the embedded one.

Only a broker the demo runs itself can be restarted, and only mosquitto keeps the clients'
sessions (subscriptions, QoS 1 messages for a client that is away) across a restart, in its
persistence file. The embedded broker treats every client as anonymous, and keeps nothing
for a client while it is offline.
"""

from __future__ import annotations

import asyncio
import shlex
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from ...protocol.broker_url import BrokerUrl
from ..mosquitto import Mosquitto, find_program


@dataclass
class DemoBroker:
    url: BrokerUrl
    kind: str
    mosquitto: Mosquitto | None = None
    """Set when the demo runs mosquitto: it can restart it, and sessions survive that."""

    @property
    def keeps_sessions(self) -> bool:
        return self.mosquitto is not None

    def watch_command(self, topics: str) -> str:
        """The mosquitto_sub line that shows the demo's traffic on this broker."""
        url = self.url
        words = ["mosquitto_sub", "-h", url.host, "-p", str(url.port), "-t", topics, "-v"]
        if url.username:
            words += ["-u", url.username]
        if url.tls:
            words.append("--tls-use-os-certs")
        shown = shlex.join(words)
        return f"{shown} -P <password>" if url.password else shown


@asynccontextmanager
async def demo_broker(url: BrokerUrl | None) -> AsyncIterator[DemoBroker]:
    if url is not None:
        yield DemoBroker(url, "yours")
        return
    binary = find_program("mosquitto")
    if binary is not None:
        with tempfile.TemporaryDirectory(prefix="nm28-demo-") as folder:
            mosquitto = Mosquitto(binary, Path(folder), persistence=True)
            await asyncio.to_thread(mosquitto.start)
            try:
                yield DemoBroker(BrokerUrl("127.0.0.1", mosquitto.port), "mosquitto", mosquitto)
            finally:
                await asyncio.to_thread(mosquitto.stop)
        return
    from ...sim import EmbeddedBroker  # the sim's extra dependencies only when they are used

    async with EmbeddedBroker() as embedded:
        yield DemoBroker(BrokerUrl(embedded.host, embedded.port), "embedded (amqtt)")
