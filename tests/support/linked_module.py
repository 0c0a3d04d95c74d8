"""A scripted NM28 that keeps each client's link state, so `AT+MQTTCONN?` tells the truth.

Supervised sessions ask `AT+MQTTCONN?` to tell a refused command from a dead link; these
handlers answer it from what the host did (CONN connects; DISC, CLOSE and `drop()`
disconnect) and otherwise answer the MQTT commands as a healthy module does, but for an OPEN
of an index still open: result 2, index in use, until the host sends CLOSE.
Register refusals after them (later registrations win):

    links = LinkedModule()
    async with ScriptedModule({**links.script(), refused_topic("no/t"): "ERROR"}) as mod: ...
"""

from __future__ import annotations

import re

from support.scripted_module import Exchange, Handler, Pattern, mqtt_auto

_MQTT_SET = re.compile(r"AT\+(MQTT(?:OPEN|CLOSE|CONN|DISC|SUB|UNS|PUBEX)|CTWINGPOSTVER)=.*")


def refused_topic(topic: str, command: str = "MQTTPUBEX") -> re.Pattern[str]:
    """A pattern for `command` lines (MQTTPUBEX, MQTTSUB, MQTTUNS) naming `topic`."""
    return re.compile(rf'AT\+{command}=.*"{re.escape(topic)}".*')


class LinkedModule:
    def __init__(self) -> None:
        self.up = [False] * 6
        self.opened = [False] * 6
        self._auto = mqtt_auto("before")

    def drop(self, index: int) -> None:
        """The broker link of `index` is gone (the module reports it disconnected)."""
        self.up[index] = False

    def script(self) -> dict[Pattern, Handler]:
        return {_MQTT_SET: self._command, "AT+MQTTCONN?": self._query}

    async def _command(self, x: Exchange) -> None:
        i = x.client_index
        if x.name == "MQTTOPEN":
            if self.opened[i]:
                await x.send(f"+MQTTOPEN: {i},2", "OK")
                return
            self.opened[i] = True
        elif x.name == "MQTTCONN":
            self.up[i] = True
        elif x.name in ("MQTTDISC", "MQTTCLOSE"):
            self.up[i] = False
            self.opened[i] = x.name == "MQTTDISC" and self.opened[i]
        await self._auto(x)

    async def _query(self, x: Exchange) -> None:
        await x.send(*(f"+MQTTCONN: {i},{int(up)}" for i, up in enumerate(self.up)), "OK")
