"""Leaving `modem.mqtt()` or a session's `async with` in any way sends DISC and CLOSE, so the
client index is free for the next user; unless the modem itself is gone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import pytest
from support.linked_module import LinkedModule
from support.rig import FAST_BACKOFF
from support.scripted_module import Exchange, ScriptedModule

import nm28_async as nm


class Boom(Exception):
    """The caller's own exception: it must come out as itself."""


Block = Callable[[], AbstractAsyncContextManager[Any]]


async def connected_body(entered: Any) -> None:
    if isinstance(entered, nm.Session):
        await entered.wait_connected(5)


async def leave_normally(block: Block) -> None:
    async with block() as entered:
        await connected_body(entered)


async def leave_by_exception(block: Block) -> None:
    async def run() -> None:
        async with block() as entered:
            await connected_body(entered)
            raise Boom

    with pytest.raises(Boom):
        await run()


async def leave_by_asyncio_cancellation(block: Block) -> None:
    inside = asyncio.Event()

    async def run() -> None:
        async with block() as entered:
            await connected_body(entered)
            inside.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(run())
    await asyncio.wait_for(inside.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def leave_by_anyio_cancellation(block: Block) -> None:
    with anyio.CancelScope() as scope:
        async with block() as entered:
            await connected_body(entered)
            scope.cancel()
            await anyio.sleep(60)
    assert scope.cancelled_caught


async def leave_by_deadline(block: Block) -> None:
    with anyio.move_on_after(60) as scope:  # the deadline is moved in once connected
        async with block() as entered:
            await connected_body(entered)
            scope.deadline = anyio.current_time() + 0.05
            await anyio.sleep(60)
    assert scope.cancelled_caught


WAYS: list[Callable[[Block], Awaitable[None]]] = [
    leave_normally,
    leave_by_exception,
    leave_by_asyncio_cancellation,
    leave_by_anyio_cancellation,
    leave_by_deadline,
]


def blocks(modem: nm.Modem) -> dict[str, Block]:
    return {
        "mqtt": lambda: modem.mqtt(2, "broker", 1883, client_id="c", keepalive=60),
        "session": lambda: modem.session(
            2, "broker", 1883, client_id="c", backoff=FAST_BACKOFF, poll_interval=60
        ),
    }


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["mqtt", "session"])
@pytest.mark.parametrize("leave", WAYS, ids=lambda way: way.__name__)
async def test_leaving_in_any_way_disconnects_and_closes(
    kind: str, leave: Callable[[Block], Awaitable[None]]
) -> None:
    links = LinkedModule()
    async with ScriptedModule(links.script(), echo=False) as mod, nm.Modem.open(mod.port) as modem:
        block = blocks(modem)[kind]
        await leave(block)
        assert not links.opened[2], mod.lines
        tail = [x.name for x in mod.exchanges if x.name.startswith("MQTT")][-2:]
        assert tail == ["MQTTDISC", "MQTTCLOSE"]
        assert modem.client(2).state is nm.ClientState.CLOSED
        await leave_normally(block)  # the index is free: OPEN is not answered "in use"


@pytest.mark.asyncio
async def test_cancelled_while_opening_the_network_is_closed() -> None:
    """OPEN cut short has an unknown outcome: the module may hold the network, so CLOSE."""
    links = LinkedModule()
    opening = asyncio.Event()

    async def slow_open(x: Exchange) -> None:
        links.opened[x.client_index] = True
        opening.set()
        await x.ok()
        x.later(0.5, f"+MQTTOPEN: {x.client_index},0")

    async with (
        ScriptedModule({**links.script(), "AT+MQTTOPEN=*": slow_open}, echo=False) as mod,
        nm.Modem.open(mod.port) as modem,
    ):
        with anyio.move_on_after(60) as deadline:

            async def cancel_when_opening() -> None:
                await opening.wait()
                deadline.cancel()

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(cancel_when_opening)
                async with modem.mqtt(1, "broker", 1883, client_id="c"):
                    pytest.fail("connected although cancelled while opening")
        assert deadline.cancelled_caught
        assert [x.name for x in mod.exchanges if x.name.startswith("MQTT")][-1] == "MQTTCLOSE"
        assert not links.opened[1]


@pytest.mark.asyncio
async def test_without_take_over_a_refused_open_is_not_closed_it_may_be_another_users() -> None:
    links = LinkedModule()
    links.opened[3] = True  # someone else holds index 3
    async with ScriptedModule(links.script(), echo=False) as mod, nm.Modem.open(mod.port) as modem:
        with pytest.raises(nm.OpenError) as caught:
            async with modem.mqtt(3, "broker", 1883, client_id="c", take_over=False):
                pass
        assert caught.value.code == 2
        assert [x.name for x in mod.exchanges if x.name.startswith("MQTT")] == ["MQTTOPEN"]


@pytest.mark.asyncio
async def test_by_default_an_index_the_module_holds_is_taken_over() -> None:
    links = LinkedModule()
    links.opened[3] = True  # left open by a program that was killed
    async with ScriptedModule(links.script(), echo=False) as mod, nm.Modem.open(mod.port) as modem:
        async with modem.mqtt(3, "broker", 1883, client_id="c"):
            pass
        names = [x.name for x in mod.exchanges if x.name.startswith("MQTT")]
    assert names[:4] == ["MQTTOPEN", "MQTTDISC", "MQTTCLOSE", "MQTTOPEN"]
    assert names[-2:] == ["MQTTDISC", "MQTTCLOSE"]


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["mqtt", "session"])
async def test_with_the_modem_gone_nothing_is_tried(kind: str) -> None:
    links = LinkedModule()
    sent = 0

    async def run(port: str) -> None:
        nonlocal sent
        async with nm.Modem.open(port) as modem, blocks(modem)[kind]() as entered:
            await connected_body(entered)
            sent = len(mod.exchanges)
            mod.close_port()
            await modem.wait_closed()
            if isinstance(entered, nm.MqttClient):
                await entered.publish("t", b"x")  # raises PortLostError
            else:
                await entered.publish("t", b"x", wait=False)

    async with ScriptedModule(links.script(), echo=False) as mod:
        with pytest.raises(nm.PortLostError):
            await run(mod.port)
        assert len(mod.exchanges) == sent
