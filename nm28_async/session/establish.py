"""Bringing one client's link up from whatever the module holds: configure, take the index
back if the module still holds it, open, connect, resubscribe; and asking whether it is up."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from ..client import MqttClient, query_connections
from ..engine import Engine
from ..errors import ModemClosedError, ModuleRebootedError, Nm28Error, PortLostError
from .connection import open_taking_over
from .params import ConnectionParams

log = logging.getLogger("nm28_async")


async def reported_up(engine: Engine, index: int) -> bool:
    """Whether `AT+MQTTCONN?` reports the client connected (False if it cannot tell)."""
    try:
        connections = await query_connections(engine)
    except (ModemClosedError, PortLostError):
        raise
    except Nm28Error as exc:
        log.info("client %d: link check failed: %s", index, exc)
        return False
    return connections.get(index, False)


async def establish(
    client: MqttClient,
    params: ConnectionParams,
    subscriptions: dict[str, int],
    link_up: Callable[[], Awaitable[bool]],
) -> list[str]:
    """Apply the configuration, reopen, reconnect, resubscribe; return the filters the
    broker refused this time (they are dropped from `subscriptions`)."""
    options = params.configure_options()
    if options:
        await client.configure(**options)
    await open_taking_over(client, params.host, params.port)
    await client.connect(params.client_id, params.username, params.password)
    refused = []
    for topic, qos in list(subscriptions.items()):
        try:
            await client.subscribe(topic, qos)
        except (ModemClosedError, PortLostError, ModuleRebootedError):
            raise
        except Nm28Error as exc:
            if not await link_up():
                raise
            log.warning(
                "client %d: the broker refused %r on resubscription (%s); it is dropped",
                client.index, topic, exc,
            )  # fmt: skip
            del subscriptions[topic]
            refused.append(repr(topic))
    return refused
