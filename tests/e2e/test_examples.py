"""The programs in examples/ run end to end against the virtual NM28 and a real broker, each
bounded by its --duration (or --count) option."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from support.brokers import BrokerInfo, publish_with_tool
from support.cli import CEILING, ended, read_until
from support.listen import Listener

from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@asynccontextmanager
async def example(name: str, *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python examples/NAME ARGS...`, gone when the block is left."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / name), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield process
    finally:
        await ended(process)


async def finished(process: asyncio.subprocess.Process) -> str:
    """What the example printed from here on; it must end with exit 0, no traceback."""
    out, err = await asyncio.wait_for(process.communicate(), CEILING)
    assert process.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    return out.decode()


@pytest.mark.asyncio
async def test_telemetry_gateway_loses_nothing_over_a_dropped_link(
    sim: VirtualModem, broker: BrokerInfo, tmp_path: Path
) -> None:
    host, port = await sim.serve_tcp()
    async with Listener(broker, "gateway/#", "gateway/probe") as listener:
        async with example(
            "telemetry_gateway.py", f"socket://{host}:{port}", "--host", broker.host,
            "--port", str(broker.port), "--interval", "0.2", "--duration", "3",
            "--outbox", str(tmp_path / "outbox.sqlite"),
        ) as gateway:  # fmt: skip
            await read_until(gateway.stdout, "link connected")
            assert sim.drop_link(0)  # the session reconnects; stored readings wait meanwhile
            out = await finished(gateway)
        stored = [line for line in out.splitlines() if line.startswith("stored ")]
        done = out.splitlines()[-1]
        count = int(done.split()[1])
        assert done == f"done: {count} readings stored and delivered"
        assert json.loads(stored[-1].removeprefix("stored "))["seq"] == count
        heard = await listener.until(count)
    seqs = {json.loads(payload)["seq"] for topic, payload in heard}
    assert {topic for topic, _ in heard} == {"gateway/gw-1/telemetry"}
    assert seqs == set(range(1, count + 1))  # each stored reading arrived, and no other


@pytest.mark.asyncio
async def test_ctwing_responder_answers_a_downlink(sim: VirtualModem, broker: BrokerInfo) -> None:
    host, port = await sim.serve_tcp()
    # "a/#" also matches "a" itself
    async with Listener(broker, "command_response/#", "command_response/probe") as listener:
        async with example(
            "ctwing_responder.py", f"socket://{host}:{port}", "--count", "1", "--duration", "60"
        ) as responder:
            await read_until(responder.stdout, "ready: answering commands on valve_onoff_cmd")
            downlink = b'{"taskId":5,"payload":{"valve_onoff":1}}'
            await publish_with_tool(broker, "valve_onoff_cmd", downlink, qos=1)
            out = await finished(responder)
        assert out == "task 5: {'valve_onoff': 1} -> {'result': 'ok', 'valve_onoff': 1}\n"
        ((_, payload),) = await listener.until(1)
    assert json.loads(payload) == {"taskId": 5, "resultPayload": {"result": "ok", "valve_onoff": 1}}


@pytest.mark.asyncio
async def test_onenet_data_points_reach_the_device_topic(
    sim: VirtualModem, broker: BrokerInfo
) -> None:
    host, port = await sim.serve_tcp()
    async with Listener(broker, "$sys/pr0duct/#", "$sys/pr0duct/probe") as listener:
        async with example(
            "onenet_datapoints.py", f"socket://{host}:{port}", "--count", "3", "--interval", "0.1"
        ) as device:
            out = await finished(device)
        assert out.splitlines()[-1] == "done: 3 readings posted"
        heard = await listener.until(3)
    assert {topic for topic, _ in heard} == {"$sys/pr0duct/meter-1/dp/post/json"}
    for _, payload in heard:
        body = json.loads(payload)
        assert set(body) == {"id", "dp"}
        assert set(body["dp"]) == {"temperature", "valve"}
        assert [point["v"] for point in body["dp"]["valve"]] in ([0], [1])
