"""The module's six MQTT clients: their settings, their broker links, and what those links
report on their own (a message arrived, a link was lost) as URC lines."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

from ..protocol import limits
from ..protocol.codes import LinkLost
from .knobs import Knobs
from .mqtt_link import Incoming, MqttLink
from .replies import frame, result_line
from .settings import ClientSettings

UrcSink = Callable[[bytes, bool], None]
"""Where a client's URC goes: its framed bytes, and whether a ``"cached"`` client keeps it
while no host is attached."""


class MqttClients:
    """State of the six client indexes, shared by the MQTT command handlers."""

    def __init__(self, knobs: Knobs, urc: UrcSink) -> None:
        self._knobs = knobs
        self._urc = urc
        self.cfgs = [ClientSettings() for _ in limits.CLIENT_INDEXES]
        self.links = [MqttLink(self._receiver(i), self._lost(i)) for i in limits.CLIENT_INDEXES]
        self.open_addresses: dict[int, tuple[str, int]] = {}  # as AT+MQTTOPEN gave them
        self.busy: set[int] = set()  # indexes with an OPEN or CONN under way

    def result(self, name: str, *fields: int) -> str:
        """A set command's result line, spelled as the knobs say."""
        return result_line(name, *fields, spaced=self._knobs.spaced_results)

    @contextlib.contextmanager
    def busy_while(self, idx: int) -> Iterator[None]:
        """Mark client ``idx`` busy (an OPEN or CONN under way) for the block."""
        self.busy.add(idx)
        try:
            yield
        finally:
            self.busy.discard(idx)

    def drop(self, index: int) -> bool:
        return self.links[index].drop()

    def drop_all(self) -> None:
        """The data path went (coverage, PDP, radio off): every link drops, as on a broker
        loss; the slots stay open until the host closes them."""
        for link in self.links:
            link.drop()

    async def shutdown(self) -> None:
        """Power off: cut every client's link."""
        await asyncio.gather(*(link.close() for link in self.links))

    def _receiver(self, index: int) -> Callable[[Incoming], None]:
        def receive(message: Incoming) -> None:
            cfg = self.cfgs[index]
            quote = b'"' if self._knobs.quoted_recv else b""
            fields = [b"%d" % index, b"%d" % message.packet_id, quote + message.topic + quote]
            if cfg.len_enable:
                fields.append(b"%d" % len(message.payload))
            if cfg.rcv_mode == 0:
                fields.append(quote + message.payload + quote)
            self._urc(frame(b"+MQTTRECV: " + b",".join(fields)), bool(cfg.cached))

        return receive

    def _lost(self, index: int) -> Callable[[LinkLost], None]:
        def report(cause: LinkLost) -> None:
            if self._knobs.link_lost_urc:
                self._urc(frame(f"+MQTTSTAT: {index},{int(cause)}"), False)

        return report
