"""What the module reports of its clients: configuration, open networks, connections."""

from __future__ import annotations

from ..engine import Engine
from ..protocol import commands
from ..protocol.events import ResultLine
from ..protocol.results import ClientConfig, parse_config_block


async def query_config(engine: Engine) -> dict[int, ClientConfig]:
    """`AT+MQTTCFG?`: every client's configuration as the module reports it."""
    done = await engine.execute(commands.cfg_query())
    return parse_config_block(done.lines)


async def query_open(engine: Engine) -> dict[int, tuple[str, int]]:
    """`AT+MQTTOPEN?`: host and port of each client whose network is open."""
    done = await engine.execute(commands.open_query())
    return {
        int(line.fields[0]): (line.fields[1], int(line.fields[2]))
        for line in done.lines
        if isinstance(line, ResultLine) and len(line.fields) == 3
    }


async def query_connections(engine: Engine) -> dict[int, bool]:
    """`AT+MQTTCONN?`: whether each client reports an MQTT connection."""
    done = await engine.execute(commands.connect_query())
    return {
        int(line.fields[0]): line.fields[1] == "1"
        for line in done.lines
        if isinstance(line, ResultLine) and len(line.fields) == 2
    }
