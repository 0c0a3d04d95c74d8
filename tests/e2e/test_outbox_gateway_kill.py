"""Issue 18's acceptance: a gateway process on the durable outbox, on the virtual NM28 (served
on TCP from this process, so the module outlives the gateway and keeps its client indexes)
and a real mosquitto, is killed with SIGKILL in the middle of an enqueue storm during which
the broker went away. Started again on the same file and client id, it delivers every
message whose `enqueue` had returned (printed before the kill) to a subscriber whose session
the broker kept, counted by message id; a message arrives twice only for a disruption that
caught it in flight. Variants: the module rebooted while entries wait, and the broker
restarted in the middle of the drain.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest
from support.brokers import BrokerInfo, MosquittoFactory
from support.listen import Listener

from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e

GATEWAY = Path(__file__).resolve().parent.parent / "support" / "outbox_gateway.py"
CEILING = 60.0
"""Ceiling of every wait: generous, so a loaded machine passes; nothing asserts timing."""
STORM_LIMIT = 50_000
"""How many messages a storm enqueues at most: far more than a test waits for."""
SUBSCRIBER = "kill-sub"
CLIENT_ID = "gw-kill"
BROKER_EXTRA = ("max_queued_messages 0",)
"""The kept subscriber's queue is unbounded (mosquitto's default keeps 1000)."""
PAYLOAD = re.compile(r"m(\d+)")


class Gateway:
    """`tests/support/outbox_gateway.py` in a subprocess, its stdout read as it comes."""

    def __init__(self, process: asyncio.subprocess.Process, log: IO[bytes]) -> None:
        self._process = process
        self._log = log
        self.ids: list[int] = []
        """Every message id whose enqueue returned, as printed."""
        self.connects = 0
        self.delivered = 0
        self.depth = 0
        self.flushed: tuple[int, ...] | None = None
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls, url: str, broker: BrokerInfo, store: Path, mode: str, log: Path
    ) -> Gateway:
        args = [url, broker.host, str(broker.port), str(store), CLIENT_ID, mode]
        if mode == "storm":
            args += ["0", str(STORM_LIMIT)]
        stderr = log.open("ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(GATEWAY), *args, stdout=asyncio.subprocess.PIPE, stderr=stderr
        )
        return cls(process, stderr)

    async def _read(self) -> None:
        assert self._process.stdout is not None
        while line := await self._process.stdout.readline():
            if line.endswith(b"\n"):  # a line cut by the kill was not printed
                self._take(line.decode().split())
            self._changed.set()

    def _take(self, words: list[str]) -> None:
        kind, values = words[0], words[1:]
        if kind == "id":
            self.ids.append(int(values[0]))
        elif kind == "state" and values == ["connected"]:
            self.connects += 1
        elif kind == "stats":
            self.delivered, self.depth = int(values[0]), int(values[1])
        elif kind == "flushed":
            self.flushed = tuple(int(v) for v in values)

    async def until(self, predicate: Callable[[], bool], what: str) -> None:
        try:
            async with asyncio.timeout(CEILING):
                while not predicate():
                    if self._reader.done():
                        raise AssertionError(f"the gateway ended before {what}")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"not within {CEILING} s: {what}") from None

    async def kill(self) -> list[int]:
        """SIGKILL it; every id it printed, those still in the pipe included."""
        self._process.send_signal(signal.SIGKILL)
        async with asyncio.timeout(CEILING):
            assert await self._process.wait() == -signal.SIGKILL
            await self._reader
        self._log.close()
        return self.ids

    async def finish(self) -> tuple[int, ...]:
        """Wait for a drain to end by itself: `(delivered, depth, dropped, dead)`."""
        async with asyncio.timeout(CEILING * 2):
            code = await self._process.wait()
            await self._reader
        self._log.close()
        assert code == 0, f"the gateway exited with {code}"
        assert self.flushed is not None
        return self.flushed

    async def close(self) -> None:
        if self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
        self._log.close()


async def _register_subscriber(info: BrokerInfo) -> None:
    """The subscriber's session, kept by the broker: what is published from now on while it
    is away (and the broker restarts, persistence on) is queued for it."""
    async with Listener(info, "gw/#", "gw/probe", client_id=SUBSCRIBER):
        pass


async def _storm_until_killed(
    mosquitto: MosquittoFactory, info: BrokerInfo, url: str, store: Path, log: Path,
    *, back_before_kill: bool,
) -> list[int]:  # fmt: skip
    """A storm: the broker stopped during it; with `back_before_kill` the broker returns and
    the gateway is killed once reconnected and draining (the module holds its index open),
    otherwise it is killed while the broker is still away. The ids printed before the kill."""
    gateway = await Gateway.start(url, info, store, "storm", log)
    try:
        await gateway.until(lambda: gateway.connects >= 1 and len(gateway.ids) >= 50, "storm")
        mosquitto.stop(info)
        mark = len(gateway.ids)
        await gateway.until(lambda: len(gateway.ids) >= mark + 300, "a backlog")
        if back_before_kill:
            mosquitto.start(persistence=True, port=info.port, extra=BROKER_EXTRA)
            delivered = gateway.delivered
            await gateway.until(
                lambda: gateway.connects >= 2 and gateway.delivered >= delivered + 20,
                "the drain after the broker came back",
            )
        return await gateway.kill()
    finally:
        await gateway.close()


async def _heard_by_subscriber(info: BrokerInfo, printed: list[int]) -> list[tuple[str, str]]:
    """What the kept subscriber gets once back: until every printed id came, or its ceiling
    passed (then the check says which ids are missing)."""
    async with Listener(info, "gw/#", "gw/probe", client_id=SUBSCRIBER) as listener:
        try:
            return await listener.until_payloads({f"m{n}" for n in printed})
        except TimeoutError:
            return listener.heard


def _is_probe_bytes(payload: str) -> bool:
    """A payload made of the start-up probe's bytes (`AT\r` until answered, `ATE0\r`)."""
    return payload.startswith("AT") and set(payload) <= set("ATE0\r")


def _check_heard(
    heard: list[tuple[str, str]], printed: list[int], disruptions: int, *, mid_publish: bool
) -> None:
    """Every printed id arrived; nothing else arrived (the storm is sequential: at most the
    one id after the last printed was committed unprinted); first arrivals in order; at most
    one duplicate per disruption that could catch an entry in flight.

    `mid_publish`: the process was killed on a live link, maybe between AT+MQTTPUBEX's
    prompt and its payload. The module then still waits in data mode, and the next process's
    start-up probe (`AT\r`...) becomes that payload: the module publishes it on the entry's
    topic (a driver limitation, see the issue 18 report). That one publication is tolerated,
    nothing else; the entry itself is still delivered (it was never marked delivered)."""
    assert {topic for topic, _ in heard} == {"gw/kill"}
    junk = [payload for _, payload in heard if _is_probe_bytes(payload)]
    assert len(junk) <= (1 if mid_publish else 0), f"probe bytes published: {junk!r}"
    numbers = []
    for _, payload in heard:
        if _is_probe_bytes(payload):
            continue
        match = PAYLOAD.fullmatch(payload)
        assert match is not None, f"a payload that was never enqueued: {payload!r}"
        numbers.append(int(match.group(1)))
    missing = set(printed) - set(numbers)
    assert not missing, f"{len(missing)} ids enqueue returned were lost: {sorted(missing)[:10]}"
    assert max(numbers) <= max(printed) + 1
    first = list(dict.fromkeys(numbers))
    assert first == sorted(first), "entries arrived out of order"
    duplicates = sum(count - 1 for count in Counter(numbers).values())
    assert duplicates <= disruptions, f"{duplicates} duplicates for {disruptions} disruptions"


@pytest.mark.asyncio
@pytest.mark.parametrize("back_before_kill", [True, False], ids=["draining", "broker-down"])
async def test_every_enqueued_id_arrives_after_kill_9(
    mosquitto: MosquittoFactory, tmp_path: Path, back_before_kill: bool
) -> None:
    info = mosquitto.start(persistence=True, extra=BROKER_EXTRA)
    await _register_subscriber(info)
    store, log = tmp_path / "outbox.sqlite", tmp_path / "gateway.log"
    async with VirtualModem(info.url) as sim:
        host, port = await sim.serve_tcp()
        url = f"socket://{host}:{port}"
        printed = await _storm_until_killed(
            mosquitto, info, url, store, log, back_before_kill=back_before_kill
        )
        assert len(printed) >= 350
        assert printed == list(range(len(printed)))
        if not back_before_kill:
            mosquitto.start(persistence=True, port=info.port, extra=BROKER_EXTRA)
        opens = sim.commands_received["AT+MQTTOPEN="]
        gateway = await Gateway.start(url, info, store, "drain", log)
        try:
            delivered, depth, dropped, dead = await gateway.finish()
        finally:
            await gateway.close()
        assert (depth, dropped, dead) == (0, 0, 0)
        assert delivered >= 1
        assert gateway.connects == 1
        if back_before_kill:
            # the module still held client 0 open for the killed process: the first OPEN
            # answered "in use", the session closed the index and opened it again
            assert sim.commands_received["AT+MQTTOPEN="] - opens == 2
    heard = await _heard_by_subscriber(info, printed)
    # the broker's stop during the storm; the kill, when it caught a publish in flight
    _check_heard(heard, printed, disruptions=1 + back_before_kill, mid_publish=back_before_kill)


@pytest.mark.asyncio
@pytest.mark.parametrize("fault", ["module-reboot", "broker-restart"])
async def test_stored_entries_arrive_across_a_fault_in_the_drain(
    mosquitto: MosquittoFactory, tmp_path: Path, fault: str
) -> None:
    """Killed while the broker is away; the module rebooted meanwhile, or not; then, while
    the new process drains what waits, the module reboots or the broker restarts."""
    info = mosquitto.start(persistence=True, extra=BROKER_EXTRA)
    await _register_subscriber(info)
    store, log = tmp_path / "outbox.sqlite", tmp_path / "gateway.log"
    async with VirtualModem(info.url) as sim:
        host, port = await sim.serve_tcp()
        url = f"socket://{host}:{port}"
        printed = await _storm_until_killed(
            mosquitto, info, url, store, log, back_before_kill=False
        )
        if fault == "module-reboot":
            await sim.reboot()  # no host attached: entries wait in the file
        mosquitto.start(persistence=True, port=info.port, extra=BROKER_EXTRA)
        gateway = await Gateway.start(url, info, store, "drain", log)
        try:
            await gateway.until(
                lambda: gateway.connects >= 1 and gateway.delivered >= 30, "the drain"
            )
            assert gateway.depth > 0, "the drain ended before the fault"
            if fault == "module-reboot":
                await sim.reboot()
            else:
                mosquitto.stop(info)
                mosquitto.start(persistence=True, port=info.port, extra=BROKER_EXTRA)
            _, depth, dropped, dead = await gateway.finish()
        finally:
            await gateway.close()
        assert (depth, dropped, dead) == (0, 0, 0)
        assert gateway.connects >= 2, "the session did not see the fault"
    heard = await _heard_by_subscriber(info, printed)
    # the broker's stop during the storm; the fault in the drain
    _check_heard(heard, printed, disruptions=2, mid_publish=False)
