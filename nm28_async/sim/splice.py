"""The splice that lets paho-mqtt speak over a connection the module dialled before it.

``AT+MQTTOPEN`` dials the broker (:func:`dial`); ``AT+MQTTCONN`` hands that connection to a
paho client. paho's public API takes a host and a port, not a socket, so :func:`splice`
opens a loopback listener for the one client, and joins what it accepts to the dialled
connection: each end's bytes go out of the other.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

LOOPBACK = "127.0.0.1"
"""Where a link listens for its paho client, once per CONNECT."""


class Pipe(asyncio.Protocol):
    """One end of the splice between the broker link and paho's socket.

    What it receives goes out of its peer (kept until a peer is joined); when it ends, its
    peer is closed after its last bytes, so a DISCONNECT paho sent still reaches the broker.
    """

    def __init__(self, on_made: Callable[[Pipe], None] | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: Pipe | None = None
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._early = bytearray()
        self._on_made = on_made

    @property
    def alive(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self._on_made is not None:
            self._on_made(self)

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.alive:
            assert self.peer.transport is not None
            self.peer.transport.write(data)
        elif self.peer is None:
            self._early += data

    def join(self, peer: Pipe) -> None:
        """From now on, pass on to ``peer``; what came before goes first, and an end that
        came before (the broker closed the link already) ends the peer too."""
        self.peer = peer
        if peer.transport is not None:
            if self._early:
                peer.transport.write(bytes(self._early))
            if self.ended.done():
                peer.transport.close()
        self._early.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ended.done():
            self.ended.set_result(None)
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def abort(self) -> None:
        """Cut at once, unsent bytes lost (TCP reset); the peer is closed now too, after its
        last bytes, so nothing reuses a link that is about to end."""
        if self.transport is not None:
            self.transport.abort()
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()


async def dial(host: str, port: int, tls: ssl.SSLContext | None, timeout: float) -> Pipe:
    """TCP, and TLS when ``tls`` is given, within ``timeout`` seconds for all of it; raises
    ``socket.gaierror`` when the name does not resolve, ``OSError`` or ``TimeoutError``
    when the connection or the handshake fails."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        _, pipe = await loop.create_connection(
            Pipe,
            host,
            port,
            ssl=tls,
            server_hostname=host if tls is not None else None,
            ssl_handshake_timeout=timeout if tls is not None else None,
        )
    return pipe


async def splice(connect: Callable[[int], object], upstream: Pipe, timeout: float) -> Pipe | None:
    """Listen on a loopback port, let ``connect(port)`` (paho's blocking connect, which
    completes in the kernel's backlog) reach it, and join the connection accepted to
    ``upstream``. Returns paho's end, or None if it could not connect within ``timeout``."""
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[Pipe] = loop.create_future()

    def made(pipe: Pipe) -> None:
        if accepted.done():
            pipe.abort()  # a second caller on a listener meant for one paho client
        else:
            accepted.set_result(pipe)

    server = await loop.create_server(lambda: Pipe(made), LOOPBACK, 0)
    try:
        connect(int(server.sockets[0].getsockname()[1]))
        async with asyncio.timeout(timeout):
            local = await accepted
    except (OSError, TimeoutError):
        return None
    finally:
        server.close()
    local.join(upstream)
    upstream.join(local)
    return local
