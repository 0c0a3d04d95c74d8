"""`Modem.mqtt(...)`: configure, open and connect one client in a single `async with`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio

from ..client import ClientState, MqttClient
from ..errors import ConnectError, ModemClosedError, Nm28Error, OpenError, PortLostError
from ..protocol.codes import OpenResult
from .params import ConnectionParams

log = logging.getLogger("nm28_async")

CLEAN_UP_LIMIT = 5.0
"""Seconds each clean-up step (DISCONNECT, CLOSE) may take, even inside a cancelled scope."""

Step = Callable[[], Awaitable[None]]


@asynccontextmanager
async def connected(
    client: MqttClient, params: ConnectionParams, *, take_over: bool = True
) -> AsyncIterator[MqttClient]:
    """Yield `client` connected; on exit disconnect and close, whatever the body did.

    With `take_over` (the default: the caller named the index, so it is its own), an index
    the module still holds (a process before this one was killed, or lost its port) is
    closed and opened again; without it, that OPEN fails with OpenError result 2.

    What is undone grows with what was tried: once OPEN was sent its network is closed,
    once CONN was sent the client is disconnected too, unless the module answered that the
    step failed (then it holds nothing for it). A cancelled or timed-out step has an unknown
    outcome, so it is undone.
    """
    undo: tuple[Step, ...] = ()
    try:
        options = params.configure_options()
        if options:
            await client.configure(**options)
        undo = (client.close,)
        try:
            if take_over:
                await open_taking_over(client, params.host, params.port)
            else:
                await client.open(params.host, params.port)
        except OpenError:
            undo = ()  # not opened (or the index is someone else's): nothing of ours to close
            raise
        undo = (client.disconnect, client.close)
        try:
            await client.connect(params.client_id, params.username, params.password)
        except ConnectError:
            undo = (client.close,)
            raise
        yield client
    finally:
        await tear_down(client, *undo)


async def release(client: MqttClient) -> None:
    """DISCONNECT then CLOSE, so the module holds no network for the index."""
    await tear_down(client, client.disconnect, client.close)


async def open_taking_over(client: MqttClient, host: str, port: int) -> None:
    """Open the network; if the module still holds the index (a process before this one
    left it open, or the link broke under it), take it back and open again."""
    if client.state is not ClientState.CLOSED:
        await release(client)
    try:
        await client.open(host, port)
    except OpenError as exc:
        if exc.code != OpenResult.IN_USE:
            raise
        log.info("client %d: the module still holds the index; taking it over", client.index)
        await release(client)
        await client.open(host, port)


async def tear_down(client: MqttClient, *steps: Step) -> None:
    """Run each clean-up step (DISCONNECT, CLOSE) whatever the one before did.

    Shielded, with its own deadline per step: leaving an `async with` by cancellation or an
    anyio deadline must still free the client index, and a DISC written without its CLOSE
    would leave the index in use. Tear-down must not hide the caller's own exception: a
    failed step is only logged. After a dropped link the module refuses DISCONNECT
    (`+MQTTDISC: <idx>,-1`) but still holds the network, and only CLOSE frees the index.
    Once the modem is gone nothing more is tried.
    """
    with anyio.CancelScope(shield=True):
        for step in steps:
            try:
                with anyio.fail_after(CLEAN_UP_LIMIT):
                    await step()
            except (ModemClosedError, PortLostError):
                return
            except (Nm28Error, TimeoutError) as exc:
                log.info(
                    "client %d: %s during clean-up failed: %s", client.index, step.__name__, exc
                )
