"""Record a session with the virtual NM28 and a real broker, then replay the module's side of
it: the same commands get the same answers, with no broker at all."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from support.brokers import BrokerInfo, publish_with_tool
from support.cli import one_line, run_cli, start_sim, stop

import nm28_async as nm
from nm28_async.sim import ReplayModule, VirtualModem
from nm28_async.sim.replay import read_recording as read

pytestmark = pytest.mark.e2e

PASSWORD = "s3cret-pw"


async def session(modem: nm.Modem, broker: BrokerInfo, inject: bool) -> list[object]:
    """A gateway's day: what it saw, in order."""
    seen: list[object] = [await modem.command("AT+CSQ")]
    client = modem.client(0)
    await client.open(broker.host, broker.port)
    await client.connect("rec-0", "user", PASSWORD)
    seen.append(await client.subscribe("rec/down", qos=1))
    seen.append(await client.publish("rec/up", b'{"v":1}', qos=1))
    if inject:
        await publish_with_tool(broker, "rec/down", b"downlink\r\nOK\r\n")
    message = await asyncio.wait_for(anext(client.messages()), 30)
    seen.append((message.topic, message.payload))
    await client.disconnect()
    await client.close()
    return seen


@pytest.mark.asyncio
async def test_a_replayed_session_answers_as_the_recorded_one(
    broker: BrokerInfo, tmp_path: Path
) -> None:
    if not broker.is_mosquitto:
        pytest.skip("the downlink is published with mosquitto_pub")
    recording = tmp_path / "session.jsonl"
    async with VirtualModem(broker.url) as sim:
        path = await sim.serve_pty()
        async with nm.Modem.open(path, record=recording) as modem:
            recorded = await session(modem, broker, inject=True)
    assert PASSWORD.encode() not in recording.read_bytes()
    directions = {r.direction for r in read(recording)}
    assert directions == {"tx", "rx"}
    async with ReplayModule(recording) as replay:
        path = await replay.serve_pty()
        async with nm.Modem.open(path) as modem:
            replayed = await session(modem, broker, inject=False)
        assert replay.done
    assert replayed == recorded
    assert recorded[-1] == ("rec/down", b"downlink\r\nOK\r\n")


@pytest.mark.asyncio
async def test_nm28_at_records_and_nm28_sim_replays(broker: BrokerInfo, tmp_path: Path) -> None:
    """From the shell: `nm28 at --record` against the virtual NM28, then the same lines against
    `nm28 sim --replay` print the same answers."""
    recording = tmp_path / "field.jsonl"
    lines = [
        "AT+CSQ", f'AT+MQTTOPEN=0,"{broker.host}",{broker.port}',
        'AT+MQTTCONN=0,"cli-rec","user","pw-secret"', "AT+MQTTDISC=0", "AT+MQTTCLOSE=0",
    ]  # fmt: skip
    sim, where = await start_sim("--tcp", "127.0.0.1:0", "--broker", broker.url)
    try:
        code, recorded, err = await run_cli("at", f"socket://{where}", *lines, "--record",
                                            str(recording))  # fmt: skip
    finally:
        await stop(sim)
    assert (code, err) == (0, "")
    assert "pw-secret" not in recording.read_text()
    replay, where = await start_sim("--tcp", "127.0.0.1:0", "--replay", str(recording))
    try:
        code, replayed, err = await run_cli("at", f"socket://{where}", *lines)
    finally:
        assert await stop(replay) == 0
    assert (code, err) == (0, "")
    assert replayed == recorded
    assert "+MQTTCONN:0,0,0" in replayed


@pytest.mark.asyncio
async def test_nm28_sim_refuses_a_file_that_is_no_recording(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    code, _, err = await run_cli("sim", "--pty", "--replay", str(bad))
    assert code == 2
    assert "notes.txt:1" in one_line(err)


@pytest.mark.asyncio
async def test_nm28_at_refuses_a_recording_it_cannot_write(tmp_path: Path) -> None:
    code, _, err = await run_cli(
        "at", "socket://127.0.0.1:1", "AT", "--record", str(tmp_path / "no" / "such.jsonl")
    )
    assert code == 2
    assert "cannot write a recording" in one_line(err)
