"""`Modem.mqtt(...)`: configure, open and connect one client in a single `async with`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio

from .client import MqttClient
from .errors import ModemClosedError, Nm28Error, PortLostError

log = logging.getLogger("nm28_async")


@asynccontextmanager
async def connected(
    client: MqttClient,
    host: str,
    port: int,
    *,
    client_id: str,
    username: str = "",
    password: str = "",
    **config: Any,
) -> AsyncIterator[MqttClient]:
    """Yield `client` connected; on exit disconnect and close, whatever the body did."""
    if config:
        await client.configure(**config)
    await client.open(host, port)
    try:
        await client.connect(client_id, username, password)
    except BaseException:
        await tear_down(client, client.close)
        raise
    try:
        yield client
    finally:
        await tear_down(client, client.disconnect, client.close)


async def tear_down(
    client: MqttClient, *steps: Callable[[], Awaitable[None]], limit: float | None = None
) -> None:
    """Run each clean-up step (DISCONNECT, CLOSE) whatever the one before did.

    Tear-down must not hide the caller's own exception: a failed step is only logged. After
    a dropped link the module refuses DISCONNECT (`+MQTTDISC: <idx>,-1`) but still holds
    the network, and only CLOSE frees the index for the next OPEN. Once the modem is gone
    nothing more is tried. `limit` bounds each step.
    """
    for step in steps:
        try:
            with anyio.fail_after(limit):
                await step()
        except (ModemClosedError, PortLostError):
            return
        except (Nm28Error, TimeoutError) as exc:
            log.info("client %d: %s during clean-up failed: %s", client.index, step.__name__, exc)
