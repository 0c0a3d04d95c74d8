"""Real MQTT brokers and mosquitto's command-line clients, the far end of e2e tests."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest

from nm28_async.tools.mosquitto import Mosquitto, find_program
from nm28_async.tools.mosquitto import free_port as free_port

WAIT = 30.0
"""Ceiling of every wait on a broker or its tools: generous, so a busy machine passes."""


@dataclass(frozen=True)
class BrokerInfo:
    host: str
    port: int
    is_mosquitto: bool

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


def find_tool(name: str) -> str | None:
    """A mosquitto program on PATH or in the sbin/bin directories Debian installs it to.

    NM28_TEST_BROKER=embedded hides them, to run the suite as on a machine without apt.
    """
    if os.environ.get("NM28_TEST_BROKER") == "embedded":
        return None
    return find_program(name)


def require_tool(name: str) -> str:
    path = find_tool(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


class MosquittoFactory:
    """Starts mosquitto brokers on free loopback ports; ``stop_all`` ends them."""

    def __init__(self, binary: str, folder: Path) -> None:
        self._binary = binary
        self._folder = folder
        self._brokers: dict[int, Mosquitto] = {}

    def start(
        self,
        *,
        persistence: bool = False,
        anonymous: bool = True,
        extra: tuple[str, ...] = (),
        port: int | None = None,
    ) -> BrokerInfo:
        """Start a broker; ``port`` restarts one on the port a stopped broker served."""
        broker = Mosquitto(
            self._binary, self._folder, port=port, persistence=persistence,
            anonymous=anonymous, extra=extra,
        )  # fmt: skip
        broker.start()
        self._brokers[broker.port] = broker
        return BrokerInfo(broker.host, broker.port, True)

    def stop(self, info: BrokerInfo) -> None:
        """Stop the broker serving ``info`` (to test a broker that went away)."""
        if not self._brokers[info.port].stop():
            raise RuntimeError("mosquitto did not stop on SIGTERM")

    def pause(self, info: BrokerInfo) -> None:
        """Freeze the broker (SIGSTOP): it accepts TCP but answers nothing until ``resume``."""
        self._signal(info, signal.SIGSTOP)

    def resume(self, info: BrokerInfo) -> None:
        self._signal(info, signal.SIGCONT)

    def stop_all(self) -> None:
        for broker in self._brokers.values():
            broker.stop()

    def _signal(self, info: BrokerInfo, number: signal.Signals) -> None:
        process = self._brokers[info.port].process
        assert process is not None, "the broker is not running"
        process.send_signal(number)


@dataclass(frozen=True)
class PasswordBroker:
    info: BrokerInfo
    username: str
    password: str


@dataclass(frozen=True)
class Received:
    topic: str
    qos: int
    retained: bool
    payload: bytes


def _received(line: str) -> Received:
    """One line of ``mosquitto_sub -F %t|%q|%r|%x``."""
    topic, qos, retained, payload = line.split("|")
    return Received(topic, int(qos), retained == "1", bytes.fromhex(payload))


class Subscriber:
    """``mosquitto_sub`` collecting ``count`` messages (payloads hex-encoded, so binary-safe)."""

    def __init__(self, proc: asyncio.subprocess.Process, early: list[Received]) -> None:
        self._proc = proc
        self._early = early

    async def messages(self, timeout: float = WAIT) -> list[Received]:
        out, _ = await asyncio.wait_for(self._proc.communicate(), timeout)
        return self._early + [_received(line) for line in out.decode().splitlines()]

    async def close(self) -> None:
        if self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()


_probes = itertools.count()


async def start_subscriber(
    info: BrokerInfo, topic: str, *, count: int = 1, qos: int = 1, wait: float = 2 * WAIT
) -> Subscriber:
    """Start ``mosquitto_sub`` and return once its subscription is in place.

    mosquitto_sub does not say when its SUBACK arrived, so it also subscribes, after
    ``topic``, to a probe topic holding a retained message: the broker sends that message
    once both subscriptions are in place, and it is read off before the subscriber is
    returned.
    """
    probe = f"nm28-test/probe/{os.getpid()}/{next(_probes)}"
    await publish_with_tool(info, probe, b"probe", retain=True)
    tool = require_tool("mosquitto_sub")
    proc = await asyncio.create_subprocess_exec(
        tool, "-h", info.host, "-p", str(info.port), "-t", topic, "-t", probe, "-q", str(qos),
        "-C", str(count + 1), "-W", str(int(wait)), "-F", "%t|%q|%r|%x",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    early: list[Received] = []  # retained messages of ``topic`` come before the probe
    try:
        async with asyncio.timeout(WAIT):
            while (message := _received((await proc.stdout.readline()).decode())).topic != probe:
                early.append(message)
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return Subscriber(proc, early)


async def publish_with_tool(
    info: BrokerInfo, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
) -> None:
    """Publish ``payload`` (any bytes, read from stdin) with ``mosquitto_pub``."""
    tool = require_tool("mosquitto_pub")
    args = [tool, "-h", info.host, "-p", str(info.port), "-t", topic, "-q", str(qos), "-s"]
    if retain:
        args.append("-r")
    proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.PIPE)
    await asyncio.wait_for(proc.communicate(payload), WAIT)
    assert proc.returncode == 0
