"""A host with no driver: it writes command lines and reads the module's bytes exactly as they
arrive, over the sim's pty (through pyserial, as a gateway opens a module's port) or TCP."""

from __future__ import annotations

import asyncio
import contextlib

import serial_asyncio

from nm28_async.sim import VirtualModem

FINALS = (b"\r\nOK\r\n", b"\r\nERROR\r\n")
PROMPT = b"\r\nCONNECT\r\n"


def lines(data: bytes) -> list[str]:
    return [x for x in data.decode(errors="replace").split("\r\n") if x]


class RawHost:
    """Reads what the module writes, byte for byte; every wait has a ceiling, none a floor."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._buf = b""

    @classmethod
    async def connect(cls, address: tuple[str, int]) -> RawHost:
        """Attach over the sim's TCP port."""
        reader, writer = await asyncio.open_connection(*address)
        return cls(reader, writer)

    @classmethod
    async def open_pty(cls, sim: VirtualModem) -> RawHost:
        """Attach over a new pty of ``sim``, opened as a serial port."""
        reader, writer = await serial_asyncio.open_serial_connection(
            url=await sim.serve_pty(), baudrate=115200
        )
        # pyserial-asyncio writes when the port is next writable: with no buffer allowance,
        # send()'s drain returns only once the bytes went into the pty
        writer.transport.set_write_buffer_limits(high=0)
        return cls(reader, writer)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()

    async def send(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def read_until(self, *markers: bytes, timeout: float = 20.0) -> bytes:
        """Everything up to and including the first of ``markers`` to arrive."""
        async with asyncio.timeout(timeout):
            while True:
                hits = [(i, m) for m in markers if (i := self._buf.find(m)) >= 0]
                if hits:
                    i, m = min(hits)
                    data, self._buf = self._buf[: i + len(m)], self._buf[i + len(m) :]
                    return data
                chunk = await self._reader.read(65536)
                if not chunk:
                    raise EOFError(self._buf)
                self._buf += chunk

    def unread(self) -> bytes:
        """What arrived and no read took yet (it stays unread)."""
        return self._buf

    async def command(self, line: str | bytes, timeout: float = 20.0) -> list[str]:
        """Send one command line; the non-empty lines up to its final result code."""
        raw = line.encode() if isinstance(line, str) else line
        await self.send(raw + b"\r")
        return lines(await self.read_until(*FINALS, timeout=timeout))

    async def open_and_connect(self, idx: int = 0, client_id: str = "nm28-test") -> None:
        """``AT+MQTTOPEN`` to the sim's broker and ``AT+MQTTCONN``, both answered 0."""
        open_line = f'AT+MQTTOPEN={idx},"mqtt.ctwing.cn",1883'
        assert await self.command(open_line) == [f"+MQTTOPEN:{idx},0", "OK"]
        connect_line = f'AT+MQTTCONN={idx},"{client_id}","u","p"'
        assert await self.command(connect_line) == [f"+MQTTCONN:{idx},0,0", "OK"]

    async def publish(self, header: str, payload: bytes, prompt: bytes = PROMPT) -> list[str]:
        """``AT+MQTTPUBEX`` with its payload: the lines after the prompt, up to the final code."""
        await self.send(header.encode() + b"\r")
        assert await self.read_until(prompt) == prompt
        await self.send(payload)
        return lines(await self.read_until(*FINALS))
