"""One task group per virtual module: ``start()`` opens it, ``stop()`` ends every task in it
and raises what failed there."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from support.brokers import BrokerInfo
from support.raw_host import RawHost
from support.rig import wait_until

from nm28_async.sim import VirtualModem, virtual_modem
from nm28_async.sim.lifecycle import TASK_PREFIX

ROLES = ("module", "AT", "late result", "UART", "noise", "drops", "reboots")


@pytest.mark.asyncio
async def test_stop_ends_every_background_task(broker: BrokerInfo) -> None:
    before = asyncio.all_tasks()
    sim = VirtualModem(
        broker.url, result_after_ok=True, network_latency=3600, baudrate=115200,
        noise_interval=0.01, drop_interval=0.01, reboot_interval=3600, echo=False,
    )  # fmt: skip
    await sim.start()
    assert sim.running
    host = await RawHost.open_pty(sim)
    try:
        # a result owed for an hour: a late-result task in the interpreter's group (the
        # noise, every 10 ms, may put unknown URCs before the OK)
        answer = await host.command('AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883')
        assert answer[-1] == "OK"
        assert not any(line.startswith("+MQTTOPEN") for line in answer)
        names = {t.get_name() for t in asyncio.all_tasks() - before}
        assert {f"{TASK_PREFIX}{role}" for role in ROLES} <= names
    finally:
        await host.close()
        await sim.stop()
    assert not sim.running
    left = [t for t in asyncio.all_tasks() - before if t.get_name().startswith(TASK_PREFIX)]
    assert left == []


@pytest.mark.asyncio
async def test_a_failing_background_task_ends_the_module_and_stop_raises_it(
    broker: BrokerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(_write: Callable[[bytes], None], _interval: float) -> None:
        raise RuntimeError("noise generator broke")

    monkeypatch.setattr(virtual_modem, "inject_noise", broken)
    sim = VirtualModem(broker.url, noise_interval=1)
    await sim.start()
    try:
        await wait_until(lambda: not sim.running, 20, "the module ended")
    finally:
        with pytest.raises(ExceptionGroup) as caught:
            await sim.stop()
    assert caught.group_contains(RuntimeError, match="noise generator broke")
