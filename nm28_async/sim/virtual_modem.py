"""``VirtualModem``: the virtual NM28 as a library object (ports, broker, fault injection)."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

from .broker import EmbeddedBroker
from .faults import inject_noise
from .interpreter import AtInterpreter, Knobs, frame
from .lifecycle import StartStop
from .serve import PtyEndpoint, TcpEndpoint
from .wire import HostInput, HostOutput

log = logging.getLogger(__name__)


def parse_broker_url(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (port defaults to 1883) as ``(host, port)``."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError(f"not an mqtt:// broker URL: {url!r}")
    return parts.hostname, parts.port or 1883


class VirtualModem(StartStop):
    """An NM28 whose AT port is a pty or a TCP socket and whose MQTT clients are real.

    ``broker`` is where the platform host names of the manual (``mqtt.ctwing.cn``, OneNet's)
    lead; other hosts in ``AT+MQTTOPEN`` are resolved and dialled as given. ``None`` starts
    an :class:`EmbeddedBroker` on a free loopback port.

    Knobs: ``result_after_ok`` prints ``OK`` first and the result line when the broker
    answered, ``ack_latency`` seconds later; ``command_latency`` delays every answer;
    ``baudrate`` paces output like an 8N1 UART; ``echo`` is the power-on echo setting;
    ``tls_contexts`` maps an ``"ssl"`` context id to an ``ssl.SSLContext``;
    ``noise_interval`` injects an unknown URC or junk line that often (seconds).
    """

    def __init__(
        self,
        broker: str | None = None,
        *,
        result_after_ok: bool = False,
        ack_latency: float = 0.0,
        command_latency: float = 0.0,
        baudrate: int | None = None,
        echo: bool = True,
        tls_contexts: Mapping[int, ssl.SSLContext] | None = None,
        noise_interval: float | None = None,
    ) -> None:
        if ack_latency < 0 or command_latency < 0:
            raise ValueError("latencies cannot be negative")
        if noise_interval is not None and noise_interval <= 0:
            raise ValueError("noise_interval must be positive")
        self._broker_arg = parse_broker_url(broker) if broker is not None else None
        self._knobs = Knobs(result_after_ok, ack_latency, command_latency, echo)
        self._baudrate = baudrate
        self._tls = dict(tls_contexts or {})
        self._noise_interval = noise_interval
        self._embedded: EmbeddedBroker | None = None
        self._input = HostInput()
        self._output = HostOutput(baudrate)
        self._interpreter: AtInterpreter | None = None
        self._processor: asyncio.Task[None] | None = None
        self._noise: asyncio.Task[None] | None = None
        self._ptys: list[PtyEndpoint] = []
        self._tcps: list[TcpEndpoint] = []
        self.broker_host = ""
        self.broker_port = 0

    @property
    def broker_url(self) -> str:
        return f"mqtt://{self.broker_host}:{self.broker_port}"

    async def start(self) -> None:
        if self._interpreter is not None:
            raise RuntimeError("already started")
        if self._broker_arg is None:
            self._embedded = EmbeddedBroker("127.0.0.1", 0)
            await self._embedded.start()
            self.broker_host, self.broker_port = self._embedded.host, self._embedded.port
        else:
            self.broker_host, self.broker_port = self._broker_arg
        self._power_on()
        if self._noise_interval is not None:
            self._noise = asyncio.get_running_loop().create_task(
                inject_noise(self._output.write, self._noise_interval)
            )

    def _power_on(self) -> None:
        interpreter = AtInterpreter(
            self._input, self._output, self._knobs, (self.broker_host, self.broker_port), self._tls
        )
        self._interpreter = interpreter
        self._processor = asyncio.get_running_loop().create_task(interpreter.run())

    async def _power_off(self) -> None:
        if self._processor is not None:
            self._processor.cancel()
            await asyncio.gather(self._processor, return_exceptions=True)
            self._processor = None
        if self._interpreter is not None:
            await self._interpreter.shutdown()
            self._interpreter = None

    async def stop(self) -> None:
        if self._noise is not None:
            self._noise.cancel()
            await asyncio.gather(self._noise, return_exceptions=True)
            self._noise = None
        await self._power_off()
        self.close_port()
        for tcp in self._tcps:
            await tcp.wait_closed()
        self._tcps.clear()
        await self._output.close()
        if self._embedded is not None:
            await self._embedded.stop()
            self._embedded = None

    # ports ----------------------------------------------------------------------------

    async def serve_pty(self) -> str:
        """Open a pty for the host; returns the path of its slave side (``/dev/pts/N``)."""
        endpoint = PtyEndpoint(self._input.feed, self._output)
        self._ptys.append(endpoint)
        log.info("serving on %s", endpoint.path)
        return endpoint.path

    async def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen for the host on TCP (``socket://host:port`` for pyserial); returns the address."""
        endpoint = TcpEndpoint(self._input.feed, self._output, self._host_attached)
        bound = await endpoint.start(host, port)
        self._tcps.append(endpoint)
        log.info("serving on %s:%d", *bound)
        return bound

    def _host_attached(self) -> None:
        if self._interpreter is not None:
            self._interpreter.host_attached()

    def close_port(self) -> None:
        """Pull every port away (a USB unplug): the host reads EOF or gets EIO."""
        self._input.host_gone()
        for pty_endpoint in self._ptys:
            pty_endpoint.close()
        self._ptys.clear()
        for tcp in self._tcps:
            tcp.close()

    # fault injection --------------------------------------------------------------------

    def drop_link(self, index: int) -> bool:
        """Cut client ``index``'s broker TCP link without DISCONNECT (the broker sends its will).

        Returns False when that client has no link. The slot stays open (``AT+MQTTOPEN``
        answers 2) until the host closes it, and ``AT+MQTTCONN?`` shows it disconnected.
        """
        if index not in range(6):
            raise ValueError(f"client index {index} is not 0..5")
        if self._interpreter is None:
            raise RuntimeError("the modem is not running")
        return self._interpreter.drop_link(index)

    async def reboot(self, banner: str = "RDY") -> None:
        """Reset like a power cycle, even mid-command: links cut, state and echo back to
        power-on, unread input and unsent output lost, then ``banner`` is printed."""
        if self._interpreter is None:
            raise RuntimeError("the modem is not running")
        await self._power_off()
        self._input.clear()
        self._output.flush_pending()
        self._output.write(frame(banner))
        self._power_on()

    def inject(self, data: bytes) -> None:
        """Write raw bytes to the host, in order with everything else the module says."""
        self._output.write(data)
