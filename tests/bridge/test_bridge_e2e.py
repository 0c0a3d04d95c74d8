"""`nm28 bridge` end to end: two real mosquitto brokers (the gateway's and the cloud's), the
virtual NM28 between the bridge and the cloud, mosquitto_pub/mosquitto_sub at both ends."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from bridge_rig import Bridge, publish_lines, sample
from support.brokers import MosquittoFactory, publish_with_tool
from support.listen import Listener

from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e


def _count(heard: list[tuple[str, str]], payload: str) -> int:
    return sum(1 for _, got in heard if got == payload)


@pytest.mark.asyncio
async def test_both_directions_no_loop_metrics_and_sigterm(
    mosquitto: MosquittoFactory, tmp_path: Path
) -> None:
    local, cloud = mosquitto.start(), mosquitto.start()
    async with VirtualModem(cloud.url) as sim:
        port = await sim.serve_pty()
        bridge = await Bridge.start(
            port, cloud, local, tmp_path / "outbox.sqlite",
            "--forward", "tele/#", "--receive", "cmd/#",
            "--forward", "loop/#", "--receive", "loop/#",  # overlapping: a loop if it could
        )  # fmt: skip
        try:
            assert await bridge.until_healthy() == "ok\n"
            async with (
                Listener(cloud, "tele/#", "tele/probe") as up,
                Listener(local, "cmd/#", "cmd/probe") as down,
                Listener(cloud, "loop/#", "loop/probe-cloud") as cloud_loop,
                Listener(local, "loop/#", "loop/probe-local") as local_loop,
            ):
                await publish_with_tool(local, "tele/t1", b"up-1")
                assert ("tele/t1", "up-1") in await up.until_payloads({"up-1"})
                await publish_with_tool(cloud, "cmd/c1", b"down-1")
                assert ("cmd/c1", "down-1") in await down.until_payloads({"down-1"})

                await publish_with_tool(local, "loop/a", b"L1")
                await cloud_loop.until_payloads({"L1"})
                await publish_with_tool(cloud, "loop/b", b"C1")
                await local_loop.until_payloads({"C1"})
                # C1, published locally by the bridge, would be forwarded before END if the
                # local side looped; L1's and END's echoes from the cloud are dropped
                await publish_with_tool(local, "loop/end", b"END")
                heard_cloud = await cloud_loop.until_payloads({"END"})
                # echoes: of L1, of END, and of the local listener's retained probe
                await bridge.until_metric("nm28_bridge_echoes_dropped_total", 3)
                heard_local = await local_loop.until_payloads({"END"})
                for payload in ("L1", "C1", "END"):
                    assert _count(heard_cloud, payload) == 1, heard_cloud
                    assert _count(heard_local, payload) == 1, heard_local

            text = await bridge.scrape()
            for name in (
                "nm28_outbox_messages", "nm28_outbox_oldest_age_seconds", "nm28_published_total",
                "nm28_received_total", "nm28_commands_total", "nm28_command_duration_seconds",
                "nm28_reconnects_total", "nm28_link_up", "nm28_network_registered",
                "nm28_signal_rsrp_dbm",
            ):  # fmt: skip
                assert f"\n{name}" in text, name
            assert sample(text, "nm28_link_up") == 1
            assert sample(text, "nm28_published_total") >= 4  # up-1, L1, END, the probe
            assert sample(text, "nm28_received_total") >= 3
            assert 'nm28_commands_total{command="MQTTPUBEX",result="ok"}' in text
            assert "nm28_command_duration_seconds_bucket" in text

            assert await bridge.terminate() == 0, bridge.errors()
            assert "Traceback" not in bridge.errors()
        finally:
            await bridge.kill()


@pytest.mark.asyncio
async def test_kill_9_mid_stream_loses_nothing_and_health_follows_the_link(
    mosquitto: MosquittoFactory, tmp_path: Path
) -> None:
    local, cloud = mosquitto.start(), mosquitto.start(persistence=True)
    store = tmp_path / "outbox.sqlite"
    first = [f"m{n}" for n in range(150)]
    second = [f"m{n}" for n in range(150, 300)]
    async with VirtualModem(cloud.url) as sim:
        port = await sim.serve_pty()
        bridge = await Bridge.start(port, cloud, local, store, "--forward", "tele/#")
        try:
            await bridge.until_healthy()
            async with Listener(cloud, "tele/#", "tele/probe", client_id="cloud-sub") as heard:
                await publish_lines(local, "tele/stream", first)
                await heard.until(10)
                bridge.proc.send_signal(signal.SIGKILL)
                await bridge.proc.wait()
                # the bridge is away: the local broker keeps its session and queues these
                await publish_lines(local, "tele/stream", second)
                bridge = await Bridge.start(port, cloud, local, store, "--forward", "tele/#")
                got = await heard.until_payloads(set(first) | set(second))
            assert {topic for topic, _ in got} == {"tele/stream"}
            missing = (set(first) | set(second)) - {payload for _, payload in got}
            assert not missing

            # the cloud goes away: 503 with the reason, the outbox grows; back: it drains
            await bridge.until_healthy()
            mosquitto.stop(cloud)
            body = await bridge.until_healthy(False)
            assert "cloud link" in body
            await publish_lines(local, "tele/late", ["late-1", "late-2", "late-3"])
            await bridge.until_metric("nm28_outbox_messages", 1)
            cloud = mosquitto.start(persistence=True, port=cloud.port)
            await bridge.until_healthy()
            async with Listener(cloud, "tele/#", "tele/probe", client_id="cloud-sub") as back:
                await back.until_payloads({"late-1", "late-2", "late-3"})
            await bridge.until_metric("nm28_outbox_messages", 0, 0)
            assert await bridge.terminate() == 0, bridge.errors()
        finally:
            await bridge.kill()
