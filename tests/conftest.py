"""Shared fixtures: a real MQTT broker (mosquitto where installed, else the embedded one)
and a virtual NM28 attached to it. The rigs they use live in ``tests/support``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from support.brokers import (
    BrokerInfo,
    MosquittoFactory,
    PasswordBroker,
    find_tool,
    require_tool,
)

from nm28_async.sim import EmbeddedBroker, VirtualModem


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoFactory]:
    """A factory of mosquitto brokers (skips the test where mosquitto is not installed)."""
    factory = MosquittoFactory(require_tool("mosquitto"), tmp_path)
    yield factory
    factory.stop_all()


@pytest_asyncio.fixture
async def broker(tmp_path: Path) -> AsyncIterator[BrokerInfo]:
    """A broker for one test: mosquitto if installed, otherwise the embedded amqtt broker."""
    binary = find_tool("mosquitto")
    if binary is not None:
        factory = MosquittoFactory(binary, tmp_path)
        try:
            yield factory.start()
        finally:
            factory.stop_all()
        return
    embedded = EmbeddedBroker("127.0.0.1", 0)
    await embedded.start()
    try:
        yield BrokerInfo(embedded.host, embedded.port, False)
    finally:
        await embedded.stop()


@pytest_asyncio.fixture
async def sim(broker: BrokerInfo) -> AsyncIterator[VirtualModem]:
    """A virtual NM28 (started, no port served yet) whose clients reach ``broker``."""
    async with VirtualModem(broker.url) as modem:
        yield modem


@pytest.fixture
def password_broker(mosquitto: MosquittoFactory, tmp_path: Path) -> PasswordBroker:
    """mosquitto that only lets ``username``/``password`` in (a password file)."""
    tool = require_tool("mosquitto_passwd")
    pwfile = tmp_path / "passwd"
    subprocess.run([tool, "-c", "-b", str(pwfile), "nm28", "right-pass"], check=True)
    os.chmod(pwfile, 0o600)
    info = mosquitto.start(anonymous=False, extra=(f"password_file {pwfile}",))
    return PasswordBroker(info, "nm28", "right-pass")
