"""Engine tests: cancelling a call in flight leaves the channel and the matching consistent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from support.engine_watch import ReadWatch, started
from support.scripted_module import (
    Exchange,
    InTurn,
    Script,
    ScriptedModule,
    collect,
    reply,
)

import nm28_async as nm


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task``; it must end cancelled."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.asyncio
async def test_cancelled_command_does_not_lend_its_final_to_the_next() -> None:
    cancelled = asyncio.Event()

    async def slow(x: Exchange) -> None:
        await cancelled.wait()  # the answer comes after its caller gave up
        await x.send("+CGMR: v1", "OK")

    async with (
        ScriptedModule({"AT+CGMR": slow, "AT+CSQ": ["+CSQ: 20,99", "OK"]}) as mod,
        nm.Modem.open(mod.port, command_timeout=2.0) as modem,
    ):
        task = asyncio.create_task(modem.command("AT+CGMR"))
        await mod.wait_for("AT+CGMR")
        await cancel_and_wait(task)
        csq = await started(modem.command("AT+CSQ"))  # queued while AT+CGMR holds the line
        cancelled.set()
        assert await asyncio.wait_for(csq, 10.0) == ["+CSQ: 20,99"]
        assert mod.lines[-2:] == ["AT+CGMR", "AT+CSQ"]


@pytest.mark.asyncio
async def test_urcs_after_a_cancelled_commands_final_still_reach_urcs() -> None:
    cancelled = asyncio.Event()

    async def slow(x: Exchange) -> None:
        await cancelled.wait()
        await x.send("OK", "NOTICE: something", "+CEREG: 5")

    async with (
        ScriptedModule({"AT+CGMR": slow}) as mod,
        nm.Modem.open(mod.port, command_timeout=2.0) as modem,
    ):
        task = asyncio.create_task(modem.command("AT+CGMR"))
        await mod.wait_for("AT+CGMR")
        await cancel_and_wait(task)
        cancelled.set()
        seen = await collect(modem.urcs(), 2)
        assert [getattr(u, "text", getattr(u, "raw", None)) for u in seen] == [
            "NOTICE: something",
            "+CEREG: 5",
        ]
        assert await asyncio.wait_for(modem.command("AT"), 10.0) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("cancel_before_prompt", [True, False])
async def test_cancelled_publish_leaves_the_channel_in_sync(cancel_before_prompt: bool) -> None:
    payload_read = asyncio.Event()
    cancelled = asyncio.Event()

    async def pub(x: Exchange) -> None:
        if cancel_before_prompt:
            await cancelled.wait()  # the prompt comes after the caller gave up
        future = x.module.expect_payload(int(x.args[6]) + 1)
        await x.send("CONNECT")
        data = await asyncio.wait_for(future, 10.0)
        x.module.payloads.append((x.line, data))
        payload_read.set()
        await cancelled.wait()  # the result comes after the caller gave up
        await x.send(f"+MQTTPUBEX: 0,{x.msg_id},0", "OK")

    script: Script = {"AT+MQTTPUBEX=*": pub, "AT+CSQ": ["+CSQ: 20,99", "OK"]}
    async with (
        ScriptedModule(script) as mod,
        nm.Modem.open(mod.port, command_timeout=2.0) as modem,
    ):
        task = asyncio.create_task(modem.client(0).publish("t", b"payload"))
        await mod.wait_for("AT+MQTTPUBEX=*")
        if not cancel_before_prompt:
            await asyncio.wait_for(payload_read.wait(), 10.0)  # the prompt reached the engine
        await cancel_and_wait(task)
        cancelled.set()
        assert await asyncio.wait_for(modem.command("AT+CSQ"), 10.0) == ["+CSQ: 20,99"]
        assert mod.payloads == [('AT+MQTTPUBEX=0,1,0,0,0,"t",7', b"payload\x1a")]


@pytest.mark.asyncio
async def test_cancelled_wait_for_result_releases_the_key() -> None:
    # The first open's result never comes while it is awaited; the second's comes after OK.
    open_ = InTurn(Exchange.ok, reply("OK", "+MQTTOPEN: 0,0"))
    watch = ReadWatch()
    async with (
        ScriptedModule({"AT+MQTTOPEN=*": open_}) as mod,
        nm.Modem.open(mod.port, opener=watch.open) as modem,
    ):
        client = modem.client(0)
        mark = watch.mark
        task = asyncio.create_task(client.open("h", 1883))
        await mod.wait_for("AT+MQTTOPEN=*")
        await watch.wait_read(b"OK", mark)  # the open now awaits its result line
        await cancel_and_wait(task)
        await mod.send("+MQTTOPEN: 0,5")  # the cancelled call's result (connect failed), late
        await watch.wait_read(b"+MQTTOPEN: 0,5", mark)  # ... read with nobody to claim it
        await asyncio.wait_for(client.open("h", 1883), 10.0)
        assert modem.client(0).state is nm.ClientState.OPEN
