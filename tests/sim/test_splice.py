"""The splice between the connection ``AT+MQTTOPEN`` dialled and the paho client of
``AT+MQTTCONN``: an end that came before the splice still ends the other side."""

from __future__ import annotations

import asyncio

import pytest
from support.brokers import BrokerInfo
from support.raw_host import RawHost

from nm28_async.sim import VirtualModem


@pytest.mark.asyncio
async def test_a_server_that_hangs_up_at_once_fails_conn_without_waiting_it_out(
    broker: BrokerInfo,
) -> None:
    """A broker over its connection limit accepts and closes: CONN answers 2 at once, not
    after the packet timeout (60 s here, beyond the command's 20 s ceiling) has run out."""
    hung_up = asyncio.Event()

    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()
        hung_up.set()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with VirtualModem(broker.url, echo=False) as sim:
            host = await RawHost.open_pty(sim)
            try:
                assert await host.command('AT+MQTTCFG="timeout",0,60,0') == ["OK"]
                opened = await host.command(f'AT+MQTTOPEN=0,"127.0.0.1",{port}')
                assert opened == ["+MQTTOPEN:0,0", "OK"]
                await asyncio.wait_for(hung_up.wait(), 20)
                assert await host.command('AT+MQTTCONN=0,"c","u","p"', timeout=20) == [
                    "+MQTTCONN:0,2,0",
                    "OK",
                ]
            finally:
                await host.close()
    finally:
        server.close()
        await server.wait_closed()
