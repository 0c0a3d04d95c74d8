"""The engine on an in-memory line: each step waits on what the engine wrote, not on time."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from support.engine_watch import ReadWatch

import nm28_async as nm
from nm28_async.engine import MemoryLine
from nm28_async.protocol.recording import decode_record

LIMIT = 10.0


async def _synchronised(line: MemoryLine) -> int:
    at = await line.wait_written(b"AT\r")
    line.send(b"\r\nOK\r\n")
    at = await line.wait_written(b"ATE0\r", at)
    line.send(b"\r\nOK\r\n")
    return at


@pytest.mark.asyncio
async def test_a_command_and_a_result_after_ok_on_a_memory_line() -> None:
    line = MemoryLine()
    opening = asyncio.create_task(_synchronised(line))
    async with nm.Modem.open("memory", opener=line.open) as modem:
        at = await asyncio.wait_for(opening, LIMIT)
        answer = asyncio.create_task(modem.command("AT+CSQ"))
        at = await asyncio.wait_for(line.wait_written(b"AT+CSQ\r", at), LIMIT)
        line.send(b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
        assert await asyncio.wait_for(answer, LIMIT) == ["+CSQ: 20,99"]
        opened = asyncio.create_task(modem.client(2).open("broker", 1883))
        at = await asyncio.wait_for(line.wait_written(b'AT+MQTTOPEN=2,"broker",1883\r', at), LIMIT)
        line.send(b"\r\nOK\r\n")
        line.send(b"\r\n+MQTTOPEN: 2,0\r\n")
        await asyncio.wait_for(opened, LIMIT)
        assert modem.client(2).state is nm.ClientState.OPEN


@pytest.mark.asyncio
async def test_a_call_that_times_out_leaves_the_channel_usable() -> None:
    line = MemoryLine()
    opening = asyncio.create_task(_synchronised(line))
    async with nm.Modem.open("memory", opener=line.open) as modem:
        at = await asyncio.wait_for(opening, LIMIT)
        client = modem.client(0)
        with pytest.raises(nm.Nm28TimeoutError, match=r"within 0\.2 s"):
            await client.open("broker", 1883, timeout=0.2)  # the module never answers
        at = await line.wait_written(b"AT+MQTTOPEN=0", at)
        # The module answers late: the final code is absorbed, the next command goes through.
        line.send(b"\r\nOK\r\n\r\n+MQTTOPEN: 0,0\r\n")
        answer = asyncio.create_task(modem.command("AT"))
        await asyncio.wait_for(line.wait_written(b"AT\r", at), LIMIT)
        line.send(b"\r\nOK\r\n")
        assert await asyncio.wait_for(answer, LIMIT) == []
        with pytest.raises(ValueError, match="timeout"):
            await client.open("broker", 1883, timeout=0)


@pytest.mark.asyncio
async def test_a_lost_line_fails_the_waiting_call() -> None:
    line = MemoryLine()
    opening = asyncio.create_task(_synchronised(line))
    async with nm.Modem.open("memory", opener=line.open) as modem:
        at = await asyncio.wait_for(opening, LIMIT)
        answer = asyncio.create_task(modem.command("AT+CSQ"))
        await asyncio.wait_for(line.wait_written(b"AT+CSQ\r", at), LIMIT)
        line.drop(OSError("unplugged"))
        with pytest.raises(nm.PortLostError, match="unplugged"):
            await asyncio.wait_for(answer, LIMIT)
        assert isinstance(await modem.wait_closed(), nm.PortLostError)


@pytest.mark.asyncio
async def test_an_echoed_password_split_at_every_byte_reaches_neither_recording_nor_trace(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="nm28_async.wire")
    line = MemoryLine()
    record = tmp_path / "wire.jsonl"
    watch = ReadWatch(line.open)
    opening = asyncio.create_task(_synchronised(line))
    async with nm.Modem.open("memory", opener=watch.open, record=record) as modem:
        at = await asyncio.wait_for(opening, LIMIT)
        connecting = asyncio.create_task(modem.client(0).connect("id", "user", "pa55word"))
        at = await asyncio.wait_for(line.wait_written(b"AT+MQTTCONN=0", at), LIMIT)
        echo = b'AT+MQTTCONN=0,"id","user","pa55word"\r'
        reads = watch.reads
        for byte in echo:  # a module that echoes one byte per read (each send is one read)
            line.send(bytes([byte]))
        line.send(b"\r\nOK\r\n\r\n+MQTTCONN: 0,0,0\r\n")
        await asyncio.wait_for(connecting, LIMIT)
        assert watch.reads - reads == len(echo) + 1
    rx = b"".join(
        r.data for r in map(decode_record, record.read_text().splitlines()) if r.direction == "rx"
    )
    assert b"pa55word" not in record.read_bytes()
    assert b"***" in rx
    assert "pa55word" not in caplog.text
