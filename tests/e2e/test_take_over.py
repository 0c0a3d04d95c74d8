"""`modem.mqtt()` takes over an index the module still holds (a program before this one was
killed, or lost its port): on by default, since the caller named the index; refused when
asked not to, leaving the other user's network open."""

from __future__ import annotations

import pytest
from support.brokers import BrokerInfo

import nm28_async as nm
from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e


async def left_open(sim: VirtualModem, broker: BrokerInfo) -> None:
    """A program opens and connects client 0, then goes away without closing it."""
    async with nm.Modem.open(await sim.serve_pty()) as modem:
        await modem.client(0).open(broker.host, broker.port)
        await modem.client(0).connect("the-old-program")
    # its port closed; the module (the virtual NM28) still holds client 0


@pytest.mark.asyncio
async def test_mqtt_takes_over_an_index_the_module_still_holds(
    sim: VirtualModem, broker: BrokerInfo
) -> None:
    await left_open(sim, broker)
    async with nm.Modem.open(await sim.serve_pty()) as modem:
        assert 0 in await modem.query_open()
        async with modem.mqtt(0, broker.host, broker.port, client_id="the-new-one") as client:
            await client.subscribe("take/over", 1)
            await client.publish("take/over", b"mine now", qos=1)
            message = await anext(client.messages())
        assert message.payload == b"mine now"
        assert 0 not in await modem.query_open()  # left as it should be: closed


@pytest.mark.asyncio
async def test_take_over_false_refuses_and_leaves_the_other_users_network(
    sim: VirtualModem, broker: BrokerInfo
) -> None:
    await left_open(sim, broker)
    async with nm.Modem.open(await sim.serve_pty()) as modem:
        with pytest.raises(nm.OpenError, match="already in use") as refused:
            async with modem.mqtt(0, broker.host, broker.port, client_id="x", take_over=False):
                pass
        assert refused.value.code == 2
        assert 0 in await modem.query_open()
        with pytest.raises(ValueError, match="take_over"):
            modem.mqtt(0, broker.host, broker.port, client_id="x", take_over="yes")  # type: ignore[arg-type]
