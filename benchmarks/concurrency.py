"""Benchmark 3: clients publishing at once while acknowledgements take `latency` s.

The headline runs on the virtual NM28 (`simrig`): six real MQTT clients in the sim, QoS 1
publishes to its embedded broker, each `+MQTTPUBEX` result printed `latency` s after the
broker's PUBACK, after `OK` (or before it). With results after `OK` a client holds the AT
channel only for the command exchange, so `clients` publishes can wait for their
acknowledgements together: the ideal is min(clients / latency, channel rate). With results
before `OK` the channel is held for the whole latency: the ideal is 1 / latency.

The sim's own cost per publish (paho, amqtt, its event loop) lowers what any host can get,
so the measured bound is a bare host on the same sim: one coroutine that keeps one publish
in flight per client with nothing but `readuntil(b"\\r\\n")` and `startswith`.

The responder functions (`bare_channel`, `responder_publish_rate`) measure the AT channel
alone: latency 0, an instant scripted module.
"""

from __future__ import annotations

from collections import deque
from contextlib import AsyncExitStack

import anyio

import nm28_async as nm

from . import wire
from .bare import bare_command, open_bare
from .measure import Sample, Stopwatch
from .simrig import BareAt, Sim

PAYLOAD_SIZE = 64
TOPIC = "bench/up"


def _pubex_line(index: int, msg_id: int) -> bytes:
    return f'AT+MQTTPUBEX={index},{msg_id},1,0,0,"{TOPIC}",{PAYLOAD_SIZE}\r'.encode()


# --- the AT channel alone, on the scripted responder -------------------------------------


async def bare_channel(path: str, count: int) -> Sample:
    """The AT channel's own rate: bare publish exchanges (command, CONNECT, payload, OK)."""
    line = _pubex_line(0, 1)
    data = wire.payload(PAYLOAD_SIZE) + b"\x1a"
    with anyio.fail_after(60):
        async with open_bare(path) as streams:
            reader, writer = streams
            await bare_command(streams, wire.config_line(0.0, result_after_ok=True))
            watch = Stopwatch()
            for _ in range(count):
                writer.write(line)
                await reader.readuntil(wire.CONNECT)
                writer.write(data)
                await reader.readuntil(wire.OK)
            return watch.stop(count)


async def _publish_many(client: nm.MqttClient, count: int) -> None:
    payload = wire.payload(PAYLOAD_SIZE)
    for _ in range(count):
        await client.publish(TOPIC, payload, qos=1)


async def responder_publish_rate(path: str, clients: int, per_client: int) -> Sample:
    """Six driver clients saturating the responder's AT channel (latency 0)."""
    with anyio.fail_after(60):
        async with nm.Modem.open(path) as modem:
            await modem.command(wire.config_line(0.0, True))
            watch = Stopwatch()
            async with anyio.create_task_group() as tasks:
                for index in range(clients):
                    tasks.start_soon(_publish_many, modem.client(index), per_client)
            return watch.stop(clients * per_client)


# --- on the virtual NM28 ------------------------------------------------------------------


async def driver_rates(
    sim: Sim, counts: tuple[int, ...], per_point: dict[int, int], repeats: dict[int, int]
) -> dict[int, Sample]:
    """Connect six driver clients to the sim's broker, then for each client count publish
    `per_point[n]` each from `n` clients at once; the best of `repeats[n]` runs."""
    out: dict[int, Sample] = {}
    with anyio.fail_after(120):
        async with nm.Modem.open(sim.path) as modem, AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    modem.mqtt(i, sim.host, sim.port, client_id=f"bench{i}")
                )
                for i in range(max(counts))
            ]
            for client in clients:  # warm up: one publish each
                await _publish_many(client, 1)
            for n in counts:
                samples = []
                for _ in range(repeats.get(n, 1)):
                    watch = Stopwatch()
                    async with anyio.create_task_group() as tasks:
                        for client in clients[:n]:
                            tasks.start_soon(_publish_many, client, per_point[n])
                    samples.append(watch.stop(n * per_point[n]))
                out[n] = min(samples, key=lambda s: s.wall)
    return out


async def _bare_publishes(at: BareAt, clients: int, per_client: int) -> Sample:
    """One publish in flight per client: start one whenever the channel is free and a client
    is idle; a `+MQTTPUBEX` result line (before or after `OK`) makes its client idle."""
    data = wire.payload(PAYLOAD_SIZE) + b"\x1a"
    idle = deque(range(clients))
    left = [per_client] * clients
    total, done, msg_id = clients * per_client, 0, 0

    def result(line: bytes) -> bool:
        nonlocal done
        if not line.startswith(b"+MQTTPUBEX:"):  # the manual's spelling, as the sim prints it
            return False
        index = int(line[11 : line.index(b",")])
        done += 1
        if left[index]:
            idle.append(index)
        return True

    watch = Stopwatch()
    while done < total:
        if idle:
            index = idle.popleft()
            left[index] -= 1
            msg_id = msg_id % 65535 + 1
            at.writer.write(_pubex_line(index, msg_id))
            while (line := await at.line()) != b"CONNECT":
                result(line)
            at.writer.write(data)
            while (line := await at.line()) != b"OK":
                result(line)
        else:
            result(await at.line())
    return watch.stop(total)


async def bare_rates(
    sim: Sim, counts: tuple[int, ...], per_point: dict[int, int], repeats: dict[int, int]
) -> dict[int, Sample]:
    """The same points without the driver (run after the driver disconnected its clients)."""
    out: dict[int, Sample] = {}
    with anyio.fail_after(120):
        async with open_bare(sim.path) as streams:
            at = BareAt(streams)
            for index in range(max(counts)):
                await at.connect(index, sim)
            await _bare_publishes(at, max(counts), 1)
            for n in counts:
                samples = [
                    await _bare_publishes(at, n, per_point[n]) for _ in range(repeats.get(n, 1))
                ]
                out[n] = min(samples, key=lambda s: s.wall)
    return out


def bound(clients: int, latency: float, channel_rate: float, result_after_ok: bool) -> float:
    """The publish rate the AT channel and the acknowledgement latency allow."""
    if latency <= 0:
        return channel_rate
    waiting = clients if result_after_ok else 1
    return min(waiting / latency, channel_rate)
