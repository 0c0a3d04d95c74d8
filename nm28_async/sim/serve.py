"""The ports a host reaches the virtual module through: a pty (serial) or a TCP socket."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import tty
from collections.abc import Callable

from .wire import HostOutput

_MAX_UNSENT = 1 << 20  # a UART with nobody reading loses bytes; so do we beyond 1 MiB


class PtyEndpoint:
    """A pseudo-terminal whose slave side plays the module's USB serial port.

    The sim keeps its own slave fd open so a host can close and reopen the port without
    the master seeing a hang-up; closing the endpoint closes the master, which the host
    sees as EOF/EIO, like a module that was unplugged.
    """

    def __init__(self, on_data: Callable[[bytes], None], output: HostOutput) -> None:
        self._loop = asyncio.get_running_loop()
        self._on_data = on_data
        self._output = output
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._unsent = bytearray()
        self._loop.add_reader(self._master, self._readable)
        output.attach(self.write)

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        if data:
            self._on_data(data)

    def write(self, data: bytes) -> None:
        if self._unsent:
            if len(self._unsent) < _MAX_UNSENT:
                self._unsent += data
            return
        try:
            sent = os.write(self._master, data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return
        if sent < len(data):
            self._unsent += data[sent:]
            self._loop.add_writer(self._master, self._writable)

    def _writable(self) -> None:
        try:
            sent = os.write(self._master, self._unsent)
        except BlockingIOError:
            return
        except OSError:
            sent = len(self._unsent)
        del self._unsent[:sent]
        if not self._unsent:
            self._loop.remove_writer(self._master)

    def close(self) -> None:
        self._output.detach(self.write)
        self._loop.remove_reader(self._master)
        self._loop.remove_writer(self._master)
        os.close(self._master)
        os.close(self._slave)


class TcpEndpoint:
    """A TCP port serving one host at a time; a newer connection replaces the older one.

    The module's state lives elsewhere, so it survives the host reconnecting.
    """

    def __init__(
        self,
        on_data: Callable[[bytes], None],
        output: HostOutput,
        on_attach: Callable[[], None],
    ) -> None:
        self._on_data = on_data
        self._output = output
        self._on_attach = on_attach
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._serve, host, port)
        bound = self._server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        if self._writer is not None:
            self._drop_host()
        self._writer = writer
        self._output.attach(writer.write)
        self._on_attach()
        try:
            while data := await reader.read(65536):
                self._on_data(data)
        except ConnectionError:
            pass
        finally:
            self._output.detach(writer.write)
            if self._writer is writer:
                self._writer = None
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._handlers.discard(task)

    def _drop_host(self) -> None:
        if self._writer is not None:
            self._output.detach(self._writer.write)
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        """Stop listening and hang up on the host at once (the cable is pulled)."""
        if self._server is not None:
            self._server.close()
        self._drop_host()

    async def wait_closed(self) -> None:
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


class Endpoints:
    """Every port one module serves its host on: opened one by one, pulled all at once."""

    def __init__(self, on_data: Callable[[bytes], None], output: HostOutput) -> None:
        self._on_data = on_data
        self._output = output
        self._ptys: list[PtyEndpoint] = []
        self._tcps: list[TcpEndpoint] = []

    def open_pty(self) -> str:
        """A new pty; returns the path of its slave side (``/dev/pts/N``)."""
        endpoint = PtyEndpoint(self._on_data, self._output)
        self._ptys.append(endpoint)
        return endpoint.path

    async def open_tcp(
        self, host: str, port: int, on_attach: Callable[[], None]
    ) -> tuple[str, int]:
        """A new TCP listener; `on_attach` runs when a host connects. Returns its address."""
        endpoint = TcpEndpoint(self._on_data, self._output, on_attach)
        bound = await endpoint.start(host, port)
        self._tcps.append(endpoint)
        return bound

    def close(self) -> None:
        """Pull every port away at once (a USB unplug): the host reads EOF or gets EIO."""
        for pty_endpoint in self._ptys:
            pty_endpoint.close()
        self._ptys.clear()
        for tcp in self._tcps:
            tcp.close()

    async def wait_closed(self) -> None:
        """After `close`: wait until every TCP host's handler has ended."""
        for tcp in self._tcps:
            await tcp.wait_closed()
        self._tcps.clear()
