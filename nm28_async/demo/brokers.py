"""The demo's broker: yours (`--broker`), else a mosquitto it starts, else the embedded one.

Only a broker the demo runs itself can be restarted, and only mosquitto keeps the clients'
sessions (subscriptions, QoS 1 messages for a client that is away) across a restart, in its
persistence file. The embedded broker treats every client as anonymous, and keeps nothing
for a client while it is offline.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from ..broker_url import BrokerUrl

START_LIMIT = 10.0
"""Seconds mosquitto may take to listen, and to stop."""
_SBIN = ("/usr/sbin", "/usr/local/sbin")


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
    binary = find_mosquitto()
    if binary is not None:
        with tempfile.TemporaryDirectory(prefix="nm28-demo-") as folder:
            mosquitto = Mosquitto(binary, Path(folder))
            await mosquitto.start()
            try:
                yield DemoBroker(BrokerUrl("127.0.0.1", mosquitto.port), "mosquitto", mosquitto)
            finally:
                await mosquitto.stop()
        return
    from ..sim import EmbeddedBroker  # the sim's extra dependencies only when they are used

    async with EmbeddedBroker() as embedded:
        yield DemoBroker(BrokerUrl(embedded.host, embedded.port), "embedded (amqtt)")


def find_mosquitto() -> str | None:
    """mosquitto on PATH, or where Debian puts it (sbin is not on a user's PATH)."""
    found = shutil.which("mosquitto")
    if found is not None:
        return found
    for folder in _SBIN:
        candidate = Path(folder, "mosquitto")
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


class Mosquitto:
    """mosquitto on a free loopback port, persisting its sessions in `folder`."""

    def __init__(self, binary: str, folder: Path) -> None:
        self._binary = binary
        self._folder = folder
        self._process: asyncio.subprocess.Process | None = None
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])

    async def start(self) -> None:
        config = self._folder / "mosquitto.conf"
        config.write_text(
            "".join(
                f"{line}\n"
                for line in (
                    # as root, mosquitto would become a user that cannot write the folder
                    *(["user root"] if os.geteuid() == 0 else []),
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous true",
                    "persistence true",
                    f"persistence_location {self._folder}/",
                )
            )
        )
        self._process = await asyncio.create_subprocess_exec(
            self._binary, "-c", str(config),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            async with asyncio.timeout(START_LIMIT):
                while not await self._listening():  # noqa: ASYNC110 - polls a TCP port
                    await asyncio.sleep(0.05)
        except TimeoutError:
            await self.stop()
            raise ConnectionError(f"mosquitto did not listen on port {self.port}") from None

    async def stop(self) -> None:
        """SIGTERM: mosquitto saves its sessions, then exits."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), START_LIMIT)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def _listening(self) -> bool:
        assert self._process is not None
        if self._process.returncode is not None:
            raise ConnectionError(f"mosquitto exited with {self._process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        writer.close()
        await writer.wait_closed()
        return True
