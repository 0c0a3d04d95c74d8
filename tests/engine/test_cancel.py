"""Engine tests: cancelling a call in flight leaves the channel and the matching consistent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from support.scripted_module import Exchange, InTurn, Script, ScriptedModule, collect

import nm28_async as nm


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task``; it must end cancelled."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.asyncio
async def test_cancelled_command_does_not_lend_its_final_to_the_next() -> None:
    async def slow(x: Exchange) -> None:
        await asyncio.sleep(0.3)
        await x.send("+CGMR: v1", "OK")

    async def csq(x: Exchange) -> None:
        await asyncio.sleep(0.5)
        await x.send("+CSQ: 20,99", "OK")

    async with (
        ScriptedModule({"AT+CGMR": slow, "AT+CSQ": csq}) as mod,
        nm.Modem.open(mod.port, command_timeout=2.0) as modem,
    ):
        task = asyncio.create_task(modem.command("AT+CGMR"))
        await mod.wait_for("AT+CGMR")
        await cancel_and_wait(task)
        assert await asyncio.wait_for(modem.command("AT+CSQ"), 10.0) == ["+CSQ: 20,99"]


@pytest.mark.asyncio
async def test_urcs_after_a_cancelled_commands_final_still_reach_urcs() -> None:
    async def slow(x: Exchange) -> None:
        await asyncio.sleep(0.2)
        await x.send("OK", "NOTICE: something", "+CEREG: 5")

    async with (
        ScriptedModule({"AT+CGMR": slow}) as mod,
        nm.Modem.open(mod.port, command_timeout=2.0) as modem,
    ):
        task = asyncio.create_task(modem.command("AT+CGMR"))
        await mod.wait_for("AT+CGMR")
        await cancel_and_wait(task)
        seen = await collect(modem.urcs(), 2)
        assert [getattr(u, "text", getattr(u, "raw", None)) for u in seen] == [
            "NOTICE: something",
            "+CEREG: 5",
        ]
        assert await asyncio.wait_for(modem.command("AT"), 10.0) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("cancel_before_prompt", [True, False])
async def test_cancelled_publish_leaves_the_channel_in_sync(cancel_before_prompt: bool) -> None:
    prompt_sent = asyncio.Event()

    async def pub(x: Exchange) -> None:
        await asyncio.sleep(0.2 if cancel_before_prompt else 0.0)
        future = x.module.expect_payload(int(x.args[6]) + 1)
        await x.send("CONNECT")
        prompt_sent.set()
        data = await asyncio.wait_for(future, 10.0)
        x.module.payloads.append((x.line, data))
        await asyncio.sleep(0.2)
        await x.send(f"+MQTTPUBEX: 0,{x.msg_id},0", "OK")

    script: Script = {"AT+MQTTPUBEX=*": pub, "AT+CSQ": ["+CSQ: 20,99", "OK"]}
    async with (
        ScriptedModule(script) as mod,
        nm.Modem.open(mod.port, command_timeout=2.0) as modem,
    ):
        task = asyncio.create_task(modem.client(0).publish("t", b"payload"))
        await mod.wait_for("AT+MQTTPUBEX=*")
        if not cancel_before_prompt:
            await prompt_sent.wait()
            await asyncio.sleep(0.05)
        await cancel_and_wait(task)
        assert await asyncio.wait_for(modem.command("AT+CSQ"), 10.0) == ["+CSQ: 20,99"]
        assert mod.payloads == [('AT+MQTTPUBEX=0,1,0,0,0,"t",7', b"payload\x1a")]


@pytest.mark.asyncio
async def test_cancelled_wait_for_result_releases_the_key() -> None:
    async def first_open(x: Exchange) -> None:
        await x.ok()
        x.later(0.2, "+MQTTOPEN: 0,5")  # the cancelled call's result, arriving late

    async def second_open(x: Exchange) -> None:
        await x.ok()
        x.later(0.3, "+MQTTOPEN: 0,0")

    open_ = InTurn(first_open, second_open)
    async with (
        ScriptedModule({"AT+MQTTOPEN=*": open_}) as mod,
        nm.Modem.open(mod.port) as modem,
    ):
        client = modem.client(0)
        task = asyncio.create_task(client.open("h", 1883))
        await mod.wait_for("AT+MQTTOPEN=*")
        await asyncio.sleep(0.05)
        await cancel_and_wait(task)
        await asyncio.sleep(0.3)  # the stale result (5: connect failed) arrives unclaimed
        await asyncio.wait_for(client.open("h", 1883), 10.0)
        assert modem.client(0).state is nm.ClientState.OPEN
