"""A user's gateway function, as the README's example shows it: it turns downlink commands
into acknowledgements through the module."""

from __future__ import annotations

import asyncio
import json

import nm28_async as nm


async def acknowledge_commands(
    modem: nm.Modem, host: str, port: int, count: int, subscribed: asyncio.Event
) -> int:
    """Subscribe to `gw/cmd` (then set `subscribed`), answer `count` commands on `gw/ack`;
    return how many."""
    async with modem.mqtt(0, host, port, client_id="gateway") as client:
        await client.subscribe("gw/cmd", qos=1)
        subscribed.set()
        answered = 0
        async for message in client.messages():
            task = json.loads(message.payload)
            await client.publish("gw/ack", json.dumps({"taskId": task["taskId"]}), qos=1)
            answered += 1
            if answered == count:
                return answered
    return answered
