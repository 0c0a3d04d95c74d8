"""The engine's settings as one checked value: the defaults and the checks are written once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from ..overflow import Overflow
from ..protocol import commands, limits

DEFAULT_REBOOT_BANNERS = frozenset({"RDY", "+PBREADY", "START", "^BOOT", "+SYSSTART"})
DEFAULT_READ_COALESCING = 0.020
"""Seconds a message stream gathers between reads while no command waits for an answer: a
read costs a process wake-up whatever it brings, and a small core feels the wake-ups of a
paced line more than its bytes. Messages wait at most this long; answers never do."""


class EngineOptions(TypedDict, total=False):
    """The keywords `Modem.open` takes for `EngineSettings` (typed, so a typo fails mypy)."""

    command_timeout: float
    result_timeout: float | None
    queue_size: int
    overflow: Overflow
    sync_attempts: int
    reboot_banners: frozenset[str]
    read_coalescing: float


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine waits, queues and reads; a bad value is a ValueError at construction,
    before any port is opened.

    `reboot_banners` are the lines by which the module announces a restart;
    `read_coalescing` is how long the port's bytes may gather between reads while nothing
    waits for an answer (0: read at once).
    """

    command_timeout: float = 5.0
    result_timeout: float | None = None
    queue_size: int = 1000
    overflow: Overflow = Overflow.DROP_OLDEST
    sync_attempts: int = 5
    reboot_banners: frozenset[str] = DEFAULT_REBOOT_BANNERS
    read_coalescing: float = DEFAULT_READ_COALESCING

    def __post_init__(self) -> None:
        commands.check_duration("command_timeout", self.command_timeout)
        commands.check_duration("result_timeout", self.result_timeout, optional=True)
        commands.check_int("queue_size", self.queue_size, range(1, 1 << 31))
        if not isinstance(self.overflow, Overflow):
            raise ValueError(f"overflow must be an Overflow, got {self.overflow!r}")
        commands.check_int("sync_attempts", self.sync_attempts, range(1, 1000))
        banners = self.reboot_banners
        if isinstance(banners, str) or not all(isinstance(b, str) for b in banners):
            raise ValueError("reboot_banners must be a set of lines (str)")
        object.__setattr__(self, "reboot_banners", frozenset(banners))
        if self.read_coalescing != 0:
            commands.check_duration("read_coalescing", self.read_coalescing)
            if self.read_coalescing > 1:
                raise ValueError(f"read_coalescing must be at most 1 s, got {self.read_coalescing}")

    @property
    def network_timeout(self) -> float:
        """How long a command's network result may take until `configure` says otherwise."""
        return self.result_timeout or limits.network_timeout(
            limits.DEFAULT_PACKET_TIMEOUT_S, limits.DEFAULT_PACKET_RETRIES, self.command_timeout
        )


def check_port(port: object) -> str:
    """The port name, or a ValueError before anything is opened."""
    if not isinstance(port, str) or not port:
        raise ValueError(f"port must be a device path or a pyserial URL, got {port!r}")
    return port
