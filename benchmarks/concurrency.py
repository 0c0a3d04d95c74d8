"""Clients publishing at once while each acknowledgement takes `latency` s.

On the responder: `AT+ACKCFG` sets how long after a publish's payload its `+MQTTPUBEX`
result comes, and whether it comes after the `OK` (the channel is free meanwhile, so the
clients' publishes wait together: at most clients / latency per second) or before it (the
channel is held: at most 1 / latency). Latency 0 measures the AT channel itself.

* `driver`: one task per client calling `client.publish(..., qos=1)` in a loop;
* `bare`: a bare host on the same responder: one coroutine that keeps one publish in flight
  per client with nothing but `os.write`, `readuntil(b"\\r\\n")` and `startswith`, starting
  the next exchange whenever the channel is free and a client's result came back.
"""

from __future__ import annotations

from collections import deque

import anyio

import nm28_async as nm

from . import wire
from .bare import BarePort, open_bare
from .measure import Sample, Stopwatch

PAYLOAD_SIZE = 64
TOPIC = "bench/up"
DEADLINE = 120.0


def ideal(clients: int, latency: float, result_after_ok: bool) -> float | None:
    """Publishes/s the acknowledgement latency allows (None at latency 0: the channel's)."""
    if latency <= 0:
        return None
    return (clients if result_after_ok else 1) / latency


async def _publish_many(client: nm.MqttClient, count: int) -> None:
    payload = wire.payload(PAYLOAD_SIZE)
    for _ in range(count):
        await client.publish(TOPIC, payload, qos=1)


async def driver(
    path: str, latency: float, result_after_ok: bool, clients: int, per_client: int
) -> Sample:
    with anyio.fail_after(DEADLINE):
        async with nm.Modem.open(path) as modem:
            await modem.command(wire.config_line(latency, result_after_ok))
            watch = Stopwatch()
            async with anyio.create_task_group() as tasks:
                for index in range(clients):
                    tasks.start_soon(_publish_many, modem.client(index), per_client)
            return watch.stop(clients * per_client)


async def _publishes(port: BarePort, clients: int, per_client: int) -> Sample:
    data = wire.payload(PAYLOAD_SIZE) + b"\x1a"
    idle = deque(range(clients))
    left = [per_client] * clients
    total, done, msg_id = clients * per_client, 0, 0

    def result(line: bytes) -> None:
        nonlocal done
        if line.startswith(b"+MQTTPUBEX: "):
            index = int(line[12 : line.index(b",")])
            done += 1
            if left[index]:
                idle.append(index)

    watch = Stopwatch()
    while done < total:
        if idle:
            index = idle.popleft()
            left[index] -= 1
            msg_id = msg_id % 65535 + 1
            port.write(f'AT+MQTTPUBEX={index},{msg_id},1,0,0,"{TOPIC}",{PAYLOAD_SIZE}\r'.encode())
            while (line := await port.line()) != b"CONNECT":
                result(line)
            port.write(data)
            while (line := await port.line()) != b"OK":
                result(line)
        else:
            result(await port.line())
    return watch.stop(total)


async def bare(
    path: str, latency: float, result_after_ok: bool, clients: int, per_client: int
) -> Sample:
    with anyio.fail_after(DEADLINE):
        async with open_bare(path) as port:
            await port.command(wire.config_line(latency, result_after_ok))
            return await _publishes(port, clients, per_client)
