"""What the outbox holds and what it reports: values only, shared by both stores and the
sender, so a session and the bridge read the same shapes whichever store backs them."""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol import commands


@dataclass(frozen=True, slots=True)
class Message:
    """A publish as checked by the `publish` encoder, before it has an id: what `enqueue`
    stores. Building one is the only validation, so nothing unchecked reaches a store."""

    topic: str
    payload: bytes
    qos: int
    retain: bool

    @classmethod
    def checked(
        cls, topic: str, payload: bytes | bytearray | memoryview | str, qos: int, retain: bool
    ) -> Message:
        """The same checks as `publish` (topic, payload size, qos, retain flag): an invalid
        argument raises ValueError here, before anything is stored."""
        command = commands.publish(0, 1, topic, payload, qos=qos, retain=retain, ctrl_z=False)
        assert command.payload is not None  # publish always carries its payload
        return cls(topic, command.payload, qos, retain)


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored message: `id` orders delivery (per client id, increasing, never reused);
    `stored_at` is wall time (it must mean the same after a restart); `attempts` counts the
    refusals on a live link so far."""

    id: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    stored_at: float
    attempts: int = 0

    def __repr__(self) -> str:  # payloads may be private: their size is enough in logs
        return (
            f"Entry(id={self.id}, topic={self.topic!r}, payload={len(self.payload)} bytes,"
            f" qos={self.qos}, retain={self.retain}, attempts={self.attempts})"
        )


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """`session.outbox_stats`: `depth` entries wait; the oldest has waited `oldest_age`
    seconds (None when empty); the counters say where the others went."""

    depth: int
    oldest_age: float | None
    delivered: int
    expired: int
    """Older than `max_age`: removed, never sent."""
    dropped: int
    """Removed to make room under `Overflow.DROP_OLDEST`."""
    dead: int
    """Refused `max_refusals` times on a live link, then set aside."""
