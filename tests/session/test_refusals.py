"""Supervised sessions against a scripted module that refuses one topic while its link stays up
(`AT+MQTTCONN?` reports it connected): the call fails, the link does not; and every
reconnection, however quickly the link fails, waits its backoff delay."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from support.linked_module import LinkedModule, refused_topic
from support.rig import FAST_BACKOFF
from support.scripted_module import Exchange, Handler, Pattern, ScriptedModule, success_result

import nm28_async as nm
from nm28_async.session import Backoff, LinkState, Session
from nm28_async.session.supervisor import REFUSED_PUBLISH_ATTEMPTS


@asynccontextmanager
async def session_on(
    links: LinkedModule, extra: dict[Pattern, Handler | str], backoff: Backoff = FAST_BACKOFF
) -> AsyncIterator[tuple[ScriptedModule, Session]]:
    """A connected session of client 0 on a scripted module with `links` and `extra`."""
    async with (
        ScriptedModule({**links.script(), **extra}, echo=False) as mod,
        nm.Modem.open(mod.port) as modem,
        modem.session(0, "broker", 1883, client_id="c", backoff=backoff, poll_interval=60) as s,
    ):
        await s.wait_connected(5)
        yield mod, s


@pytest.mark.asyncio
async def test_publish_refused_on_a_live_link_fails_the_publish_not_the_link() -> None:
    links = LinkedModule()
    async with session_on(links, {refused_topic("no/t"): "ERROR"}) as (mod, session):
        with pytest.raises(nm.CommandError):
            await session.publish("no/t", b"x", qos=1, timeout=30)
        assert len(mod.commands(refused_topic("no/t"))) == REFUSED_PUBLISH_ATTEMPTS
        with pytest.raises(nm.CommandError):
            await session.publish("no/t", b"x", qos=1, wait=False)
        assert len(mod.commands(refused_topic("no/t"))) == REFUSED_PUBLISH_ATTEMPTS + 1
        await session.publish("yes/t", b"y", qos=1, timeout=10)  # the link is fine
        assert len(mod.commands("AT+MQTTOPEN=*")) == 1
        assert (session.state, session.reconnects) == (LinkState.CONNECTED, 0)


@pytest.mark.asyncio
async def test_subscription_refused_on_a_live_link_raises_and_is_not_kept() -> None:
    links = LinkedModule()
    script: dict[Pattern, Handler | str] = {refused_topic("no/#", "MQTTSUB"): "ERROR"}
    async with session_on(links, script) as (mod, session):
        assert await session.subscribe("yes/#", qos=1) == 1
        with pytest.raises(nm.CommandError):
            await session.subscribe("no/#", qos=1)
        assert (session.state, session.reconnects) == (LinkState.CONNECTED, 0)
        # a reconnection re-makes only what the broker granted
        links.drop(0)
        session.link_lost("test: link dropped")
        await mod.wait_for("AT+MQTTOPEN=*", count=2, timeout=10)
        await session.wait_connected(10)
        resubscribed = [x.line for x in mod.commands("AT+MQTTSUB=*")]
    filters = [line.split(",", 2)[2] for line in resubscribed]
    assert filters == ['"yes/#",1', '"no/#",1', '"yes/#",1']


@pytest.mark.asyncio
async def test_a_filter_refused_on_resubscription_is_dropped_and_the_link_kept() -> None:
    links = LinkedModule()
    refusing = asyncio.Event()

    async def sub(x: Exchange) -> None:
        if refusing.is_set() and '"later/t"' in x.line:
            await x.error()
        else:
            await x.send(str(success_result(x)), "OK")

    async with session_on(links, {"AT+MQTTSUB=*": sub}) as (mod, session):
        await session.subscribe("later/t", qos=0)
        await session.subscribe("kept/t", qos=0)
        refusing.set()  # the broker's rules changed while the link was up
        links.drop(0)
        session.link_lost("test: link dropped")
        await mod.wait_for("AT+MQTTOPEN=*", count=2, timeout=10)
        await session.wait_connected(10)
        assert session.reconnects == 1
        links.drop(0)
        session.link_lost("test: link dropped again")
        await mod.wait_for("AT+MQTTOPEN=*", count=3, timeout=10)
        await session.wait_connected(10)
        subscribed = [x.line.split(",", 2)[2] for x in mod.commands("AT+MQTTSUB=*")]
    assert subscribed == ['"later/t",0', '"kept/t",0', '"later/t",0', '"kept/t",0', '"kept/t",0']


@pytest.mark.asyncio
async def test_every_reconnection_waits_its_backoff() -> None:
    """A publish that kills the link at once, forever: reconnections come a delay apart,
    not hundreds a second."""
    links = LinkedModule()

    async def fatal_publish(x: Exchange) -> None:
        links.drop(x.client_index)
        await x.read_payload(int(x.args[6]))
        await x.send(f"+MQTTPUBEX: {x.args[0]},{x.args[1]},-1", "OK")

    backoff = Backoff(initial=0.2, maximum=0.2, factor=1.0, jitter=0.0)
    async with session_on(links, {refused_topic("t"): fatal_publish}, backoff) as (mod, session):
        publishing = asyncio.create_task(session.publish("t", b"x", qos=1, timeout=60))
        await mod.wait_for("AT+MQTTOPEN=*", count=4, timeout=30)
        publishing.cancel()
        opens = [x.received_at for x in mod.commands("AT+MQTTOPEN=*")]
        with pytest.raises(asyncio.CancelledError):
            await publishing
    gaps = [later - earlier for earlier, later in itertools.pairwise(opens)]
    assert min(gaps) >= 0.19, gaps
