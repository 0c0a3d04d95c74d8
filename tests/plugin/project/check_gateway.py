"""A user's test suite: only the plugin's fixtures, pytest-asyncio in strict mode.

(Named check_*.py so that nm28-async's own suite leaves it to tests/plugin/test_plugin.py,
which runs it in a pytest process of its own.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from gateway import acknowledge_commands

import nm28_async as nm
from nm28_async.testing import Broker, Nm28Sim


@pytest.mark.asyncio
async def test_gateway_answers_each_command(nm28_modem: nm.Modem, nm28_broker: Broker) -> None:
    async with nm28_modem.mqtt(1, nm28_broker.host, nm28_broker.port, client_id="cloud") as cloud:
        await cloud.subscribe("gw/ack", qos=1)
        subscribed = asyncio.Event()
        gateway = asyncio.create_task(
            acknowledge_commands(nm28_modem, nm28_broker.host, nm28_broker.port, 3, subscribed)
        )
        await asyncio.wait_for(subscribed.wait(), 30)
        for task_id in range(3):
            await cloud.publish("gw/cmd", json.dumps({"taskId": task_id}), qos=1)
        assert await asyncio.wait_for(gateway, 30) == 3
        acks = []
        async for message in cloud.messages():
            acks.append(json.loads(message.payload)["taskId"])
            if len(acks) == 3:
                break
    assert acks == [0, 1, 2]


@pytest.mark.asyncio
@pytest.mark.nm28_sim(result_after_ok=True)
async def test_a_dropped_link_is_seen_by_the_module(
    nm28_modem: nm.Modem, nm28_sim: Nm28Sim, nm28_broker: Broker
) -> None:
    client = nm28_modem.client(2)
    await client.open(nm28_broker.host, nm28_broker.port)
    await client.connect("dropped")
    assert nm28_sim.drop_link(2)
    assert (await nm28_modem.query_connections())[2] is False


@pytest.mark.asyncio
async def test_the_driver_carries_on_after_a_reboot(
    nm28_modem: nm.Modem, nm28_sim: Nm28Sim
) -> None:
    banner = asyncio.Event()
    nm28_modem.add_urc_listener(lambda urc: banner.set() if urc == nm.TextLine("RDY") else None)
    nm28_sim.reboot()
    await asyncio.wait_for(banner.wait(), 30)
    assert nm28_modem.reboots == 1
    assert await nm28_modem.command("AT+CSQ") == ["+CSQ: 24,99"]


@pytest.mark.asyncio
async def test_injected_noise_is_skipped(nm28_modem: nm.Modem, nm28_sim: Nm28Sim) -> None:
    nm28_sim.inject(b"\r\n\xff\xfe junk\r\n")
    assert await nm28_modem.command("AT+CSQ") == ["+CSQ: 24,99"]
    assert nm28_modem.statistics.garbage == 1


def test_broker_fixture_says_where(nm28_broker: Broker, pytestconfig: pytest.Config) -> None:
    assert nm28_broker.url == f"mqtt://{nm28_broker.host}:{nm28_broker.port}"
    given = pytestconfig.getoption("--nm28-broker")
    if given is not None:  # the broker the user named, not one started for the session
        assert nm28_broker.url == given


@pytest.mark.asyncio
async def test_a_field_log_becomes_a_regression_test(
    nm28_sim: Nm28Sim, nm28_replay: Callable[[str | Path], str], tmp_path: Path
) -> None:
    """Record a session, then play it back: the same command gets the same answer."""
    log = tmp_path / "field.jsonl"
    async with nm.Modem.open(nm28_sim.port, record=log) as recorded:
        answer = await recorded.command("AT+CSQ")
    async with nm.Modem.open(nm28_replay(log)) as replayed:
        assert await replayed.command("AT+CSQ") == answer
