"""`Modem.mqtt(...)`: configure, open and connect one client in a single `async with`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .client import MqttClient
from .errors import Nm28Error

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
        try:
            yield client
        finally:
            await _quietly(client.disconnect(), client, "disconnect")
    finally:
        await _quietly(client.close(), client, "close")


async def _quietly(step: Any, client: MqttClient, name: str) -> None:
    """Tear-down must not hide the body's own exception; a failed step is only logged."""
    try:
        await step
    except Nm28Error as exc:
        log.info("client %d: %s on exit failed: %s", client.index, name, exc)
