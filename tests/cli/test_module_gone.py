"""When the module goes away under `nm28 sub` (or `nm28 at`), the command says so in exactly
one line, exit 1: the driver's own log line of the same error is not written as well."""

from __future__ import annotations

import asyncio
import signal

import pytest
from support.brokers import BrokerInfo, publish_with_tool
from support.cli import CEILING, one_line, read_line, start_cli, start_sim

from nm28_async.sim import VirtualModem
from nm28_async.tools.shell.common import EXIT_FAILED

pytestmark = pytest.mark.e2e


@pytest.mark.asyncio
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
async def test_sub_whose_module_goes_away_says_so_once(broker: BrokerInfo, sig: int) -> None:
    await publish_with_tool(broker, "gone/t", b"before", retain=True)
    sim, where = await start_sim("--tcp", "127.0.0.1:0", "--broker", broker.url)
    sub = await start_cli(
        "sub", f"socket://{where}", "-h", broker.host, "-p", str(broker.port), "-t", "gone/t"
    )
    try:
        assert await read_line(sub.stdout) == "before"  # subscribed, mid-stream
        sim.send_signal(sig)
        assert await asyncio.wait_for(sub.wait(), CEILING) == EXIT_FAILED
        assert sub.stderr is not None
        line = one_line((await sub.stderr.read()).decode())
        assert line.startswith(f"nm28 sub: socket://{where} ")
        assert " lost" in line or " closed" in line
    finally:
        for proc in (sub, sim):
            if proc.returncode is None:
                proc.kill()
            await proc.wait()


@pytest.mark.asyncio
async def test_at_whose_module_goes_away_says_so_once(broker: BrokerInfo) -> None:
    """The port closes while a command waits for its result line (the network never
    answers)."""
    async with VirtualModem(broker.url, result_after_ok=True, network_latency=600) as sim:
        host, port = await sim.serve_tcp()
        at = await start_cli(
            "at", f"socket://{host}:{port}", f'AT+MQTTOPEN=0,"{broker.host}",{broker.port}',
            "--result-timeout", "600",
        )  # fmt: skip
        try:
            # printed as the command is sent; its answer is printed once its result line came
            assert (await read_line(at.stdout)).startswith("> AT+MQTTOPEN=0,")
            sim.close_port()
            assert await asyncio.wait_for(at.wait(), CEILING) == EXIT_FAILED
            assert at.stderr is not None
            line = one_line((await at.stderr.read()).decode())
            assert line.startswith(f"nm28 at: socket://{host}:{port} ")
        finally:
            if at.returncode is None:
                at.kill()
            await at.wait()
