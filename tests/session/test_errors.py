"""What reaches the caller when something fails above the client: an Nm28Error with a message
that means something, never an ExceptionGroup from the driver's own task groups."""

from __future__ import annotations

import asyncio

import pytest
from support.linked_module import LinkedModule
from support.rig import FAST_BACKOFF
from support.scripted_module import Exchange, ScriptedModule

import nm28_async as nm
from nm28_async.session import loop
from nm28_async.session.supervisor import Session


@pytest.mark.asyncio
async def test_a_failure_inside_the_supervisor_is_an_nm28error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*args: object) -> list[str]:
        raise KeyError("a bug in the supervisor")

    monkeypatch.setattr(loop, "establish", broken)
    links = LinkedModule()
    failed = "supervisor of client 0 failed"

    async def run(modem: nm.Modem) -> Session:
        async with modem.session(0, "broker", 1883, client_id="c", backoff=FAST_BACKOFF) as s:
            with pytest.raises(nm.Nm28Error, match=failed):
                await s.wait_connected(5)
            with pytest.raises(nm.Nm28Error, match=failed):
                await s.publish("t", b"x")
        return s

    async with ScriptedModule(links.script(), echo=False) as mod, nm.Modem.open(mod.port) as modem:
        with pytest.raises(nm.Nm28Error, match=failed) as caught:
            await run(modem)
        assert not isinstance(caught.value, BaseExceptionGroup)
        assert modem.client(0).state is nm.ClientState.CLOSED
        assert await modem.command("AT") == []  # the modem carries on


@pytest.mark.asyncio
async def test_a_second_ctwing_version_report_names_what_it_waits_for() -> None:
    reported = asyncio.Event()

    async def post_version(x: Exchange) -> None:
        await x.ok()
        reported.set()  # the result line would come when the platform answers

    async with (
        ScriptedModule({"AT+CTWINGPOSTVER=*": post_version}, echo=False) as mod,
        nm.Modem.open(mod.port) as modem,
    ):
        first = asyncio.create_task(modem.client(0).post_ctwing_version())
        await asyncio.wait_for(reported.wait(), 5)
        with pytest.raises(nm.Nm28Error) as caught:
            await modem.client(1).post_ctwing_version()
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
    message = str(caught.value)
    assert "None" not in message
    assert "CTWINGPOSTVER" in message
    assert "one at a time" in message
    assert len(mod.commands("AT+CTWINGPOSTVER=*")) == 1
