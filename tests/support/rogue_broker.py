"""Just enough of an MQTT 3.1.1 broker to deliver what mosquitto and amqtt refuse to: a PUBLISH
whose topic is not UTF-8 (a GBK topic passed through by a lax broker in the field)."""

from __future__ import annotations

import asyncio
import contextlib

from nm28_async.sim.lifecycle import StartStop

_CONNECT, _SUBSCRIBE, _PINGREQ, _DISCONNECT = 1, 8, 12, 14


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


async def _read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    kind = (await reader.readexactly(1))[0] >> 4
    length, shift = 0, 0
    while True:
        digit = (await reader.readexactly(1))[0]
        length += (digit & 0x7F) << shift
        shift += 7
        if not digit & 0x80:
            return kind, await reader.readexactly(length)


class RogueBroker(StartStop):
    """Accepts any CONNECT, grants any SUBSCRIBE at QoS 0, then publishes ``topic``/``payload``
    (QoS 0) to the subscriber."""

    def __init__(self, topic: bytes, payload: bytes) -> None:
        body = len(topic).to_bytes(2, "big") + topic + payload
        self._publish = b"\x30" + _remaining_length(len(body)) + body
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for client in self._clients:
            client.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                while (packet := await _read_packet(reader))[0] != _DISCONNECT:
                    kind, body = packet
                    if kind == _CONNECT:
                        writer.write(b"\x20\x02\x00\x00")  # CONNACK: accepted
                    elif kind == _SUBSCRIBE:
                        writer.write(b"\x90\x03" + body[:2] + b"\x00")  # SUBACK: QoS 0 granted
                        writer.write(self._publish)
                    elif kind == _PINGREQ:
                        writer.write(b"\xd0\x00")
        finally:
            writer.close()
