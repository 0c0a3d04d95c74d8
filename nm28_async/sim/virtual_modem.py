"""``VirtualModem``: the virtual NM28 as a library object (ports, broker, fault injection)."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import Counter
from collections.abc import Mapping

from ..protocol import limits
from ..protocol.broker_url import BrokerUrl
from .broker import EmbeddedBroker
from .faults import coverage_outages, every, inject_noise
from .interpreter import AtInterpreter, InputMode
from .knobs import Knobs
from .lifecycle import TASK_PREFIX, StartStop
from .radio import Air
from .radio_knobs import RadioKnobs
from .replies import frame
from .serve import Endpoints
from .wire import HostInput, HostOutput

log = logging.getLogger(__name__)

COVERAGE_DROP_DURATION = 3.0
"""Seconds each periodic coverage outage lasts unless told otherwise."""


class VirtualModem(RadioKnobs, StartStop):
    """An NM28 whose AT port is a pty or a TCP socket and whose MQTT clients are real.

    ``broker`` (``mqtt://host[:port]``, a :class:`BrokerUrl` or ``None``) is where the platform
    host names of the manual (``mqtt.ctwing.cn``, OneNet's) lead; other hosts in
    ``AT+MQTTOPEN`` are resolved and dialled as given. ``None`` starts an
    :class:`EmbeddedBroker` on a free loopback port. An ``mqtts://`` scheme only picks port
    8883: whether a client speaks TLS is its ``"ssl"`` setting.

    Knobs (defaults are the manual's NM28):

    * ``result_after_ok``: print ``OK`` first and the result line when the network answered.
    * ``network_latency``: seconds every network-bound command (OPEN, CLOSE, CONN, DISC, SUB,
      UNS, PUBEX, CTWINGPOSTVER) takes beyond the network's own time; in the manual's order
      the result line and ``OK`` both wait for it.
    * ``command_latency``: seconds before any command is acted on.
    * ``prompt_latency``: seconds before the prompt of ``AT+MQTTPUBEX``.
    * ``baudrate``: pace output like an 8N1 UART. ``echo``: the power-on echo setting.
    * ``spaced_results``: ``+MQTTOPEN: 0,0`` instead of the manual's ``+MQTTOPEN:0,0``.
    * ``quoted_recv``: ``+MQTTRECV: 0,3,"a/b",5,"hello"`` (the length leaves out the quotes).
    * ``prompt``: ``"CONNECT"`` (the manual) or ``">"`` (printed ``\\r\\n> ``, no line end).
    * ``link_lost_urc``: print ``+MQTTSTAT: <idx>,<code>`` when a connected client's broker
      link drops (codes in :class:`~nm28_async.protocol.codes.LinkLost`).
    * ``tls_contexts``: an ``ssl.SSLContext`` per ``"ssl"`` context id.
    * ``noise_interval``, ``drop_interval``, ``reboot_interval``: inject an unknown URC or
      junk line, cut a broker link (round robin), or reboot (printing ``banner``) that often.
    * ``coverage_drop_interval``: lose coverage that often, for ``coverage_drop_duration``
      seconds (:data:`COVERAGE_DROP_DURATION` when None).

    The radio (registration, signal, PDP context, a wedged MQTT stack) is set while it runs:
    :meth:`set_coverage`, :meth:`set_signal`, :meth:`set_registration`, :meth:`drop_pdp`,
    :meth:`wedge`.
    """

    def __init__(
        self,
        broker: str | BrokerUrl | None = None,
        *,
        result_after_ok: bool = False,
        network_latency: float = 0.0,
        command_latency: float = 0.0,
        prompt_latency: float = 0.0,
        baudrate: int | None = None,
        echo: bool = True,
        spaced_results: bool = False,
        quoted_recv: bool = False,
        prompt: str = "CONNECT",
        link_lost_urc: bool = False,
        tls_contexts: Mapping[int, ssl.SSLContext] | None = None,
        noise_interval: float | None = None,
        drop_interval: float | None = None,
        reboot_interval: float | None = None,
        coverage_drop_interval: float | None = None,
        coverage_drop_duration: float | None = None,
        banner: str = "RDY",
    ) -> None:
        intervals = {
            "noise_interval": noise_interval,
            "drop_interval": drop_interval,
            "reboot_interval": reboot_interval,
            "coverage_drop_interval": coverage_drop_interval,
            "coverage_drop_duration": coverage_drop_duration,
        }
        for name, interval in intervals.items():
            if interval is not None and interval <= 0:
                raise ValueError(f"{name} must be positive")
        self._knobs = Knobs(
            result_after_ok=result_after_ok,
            network_latency=network_latency,
            command_latency=command_latency,
            prompt_latency=prompt_latency,
            echo=echo,
            spaced_results=spaced_results,
            quoted_recv=quoted_recv,
            prompt=prompt,
            link_lost_urc=link_lost_urc,
        )
        self._broker_arg = BrokerUrl.parse(broker) if isinstance(broker, str) else broker
        if self._broker_arg is not None and self._broker_arg.username:
            raise ValueError("the virtual NM28 takes no credentials: its clients log in with CONN")
        self._tls = dict(tls_contexts or {})
        self._noise_interval = noise_interval
        self._drop_interval = drop_interval
        self._reboot_interval = reboot_interval
        if coverage_drop_duration is None:
            coverage_drop_duration = COVERAGE_DROP_DURATION
        self._outages = (coverage_drop_interval, coverage_drop_duration)
        self._air = Air()  # the network around the module: reboots keep it
        self._banner = banner
        self._embedded: EmbeddedBroker | None = None
        self._input = HostInput()
        self._output = HostOutput(baudrate)
        self._runner: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None
        self._interpreter: AtInterpreter | None = None
        self._serving: asyncio.Task[None] | None = None  # the interpreter's run()
        self._next_drop = 0
        self.commands_received: Counter[str] = Counter()
        """How often each command (by :attr:`AtLine.head`, e.g. ``AT+MQTTCONN?``) reached the
        module, reboots included: what a test waits for instead of sleeping."""
        self._endpoints = Endpoints(self._input.feed, self._output)
        self.broker_host = ""
        self.broker_port = 0

    @property
    def broker_url(self) -> str:
        return f"mqtt://{self.broker_host}:{self.broker_port}"

    @property
    def running(self) -> bool:
        """Started, not stopped, and none of its background tasks failed."""
        return self._runner is not None and not self._runner.done()

    @property
    def input_mode(self) -> InputMode:
        """Whether the module reads command lines or a PUBEX payload (data mode) now."""
        return self._running_interpreter().mode

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("already started")
        if self._broker_arg is None:
            self._embedded = EmbeddedBroker("127.0.0.1", 0)
            await self._embedded.start()
            self.broker_host, self.broker_port = self._embedded.host, self._embedded.port
        else:
            self.broker_host, self.broker_port = self._broker_arg.host, self._broker_arg.port
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        self._runner = loop.create_task(self._run(ready), name=f"{TASK_PREFIX}module")
        await asyncio.wait({ready, self._runner}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            await self.stop()  # it failed before it was ready: clean up, and stop says why

    async def _run(self, ready: asyncio.Future[None]) -> None:
        """The module's life: each of its background tasks runs in this one task group, which
        ends when :meth:`stop` cancels it (or, with the module, when one of them fails)."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            if self._output.paced:
                group.create_task(self._output.pace(), name=f"{TASK_PREFIX}UART")
            if self._noise_interval is not None:
                noise = inject_noise(self._output.write, self._noise_interval)
                group.create_task(noise, name=f"{TASK_PREFIX}noise")
            if self._drop_interval is not None:
                drops = every(self._drop_interval, self._drop_next)
                group.create_task(drops, name=f"{TASK_PREFIX}drops")
            if self._reboot_interval is not None:
                reboots = every(self._reboot_interval, lambda: self.reboot(self._banner))
                group.create_task(reboots, name=f"{TASK_PREFIX}reboots")
            interval, duration = self._outages
            if interval is not None:
                outages = coverage_outages(interval, duration, self.set_coverage)
                group.create_task(outages, name=f"{TASK_PREFIX}coverage")
            self._power_on()
            ready.set_result(None)
            await asyncio.get_running_loop().create_future()  # until cancelled

    def _power_on(self) -> None:
        if self._group is None:
            raise RuntimeError("the modem is not running")
        broker = (self.broker_host, self.broker_port)
        interpreter = AtInterpreter(
            self._input,
            self._output,
            self._knobs,
            broker,
            self._tls,
            self.commands_received,
            self._air,
            self._reset_asked,
        )
        self._interpreter = interpreter
        self._serving = self._group.create_task(interpreter.run(), name=f"{TASK_PREFIX}AT")

    async def _power_off(self) -> None:
        serving, self._serving = self._serving, None
        if serving is not None:
            serving.cancel()
            await asyncio.wait({serving})
        if self._interpreter is not None:
            await self._interpreter.shutdown()
            self._interpreter = None

    async def stop(self) -> None:
        """Cancel the module's task group, cut its links, pull its ports, stop its broker.

        A background task that failed is raised here, after everything was cleaned up.
        """
        runner, self._runner = self._runner, None
        try:
            if runner is not None:
                runner.cancel()
                await asyncio.wait({runner})
            self._group = None
            await self._power_off()
            self.close_port()
            await self._endpoints.wait_closed()
        finally:
            if self._embedded is not None:
                await self._embedded.stop()
                self._embedded = None
        failure = None if runner is None or runner.cancelled() else runner.exception()
        if failure is not None:
            raise failure

    # ports ----------------------------------------------------------------------------

    async def serve_pty(self) -> str:
        """Open a pty for the host; returns the path of its slave side (``/dev/pts/N``)."""
        path = self._endpoints.open_pty()
        log.info("serving on %s", path)
        return path

    async def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen for the host on TCP (``socket://host:port`` for pyserial); returns the address."""
        bound = await self._endpoints.open_tcp(host, port, self._host_attached)
        log.info("serving on %s:%d", *bound)
        return bound

    def _host_attached(self) -> None:
        if self._interpreter is not None:
            self._interpreter.host_attached()

    def close_port(self) -> None:
        """Pull every port away (a USB unplug): the host reads EOF or gets EIO."""
        self._input.host_gone()
        self._endpoints.close()

    # fault injection --------------------------------------------------------------------

    def drop_link(self, index: int) -> bool:
        """Cut client ``index``'s broker TCP link without DISCONNECT (the broker sends its will).

        Returns False when that client has no link. The slot stays open (``AT+MQTTOPEN``
        answers 2) until the host closes it, and ``AT+MQTTCONN?`` shows it disconnected.
        """
        if index not in limits.CLIENT_INDEXES:
            raise ValueError(f"client index {index} is not 0..5")
        return self._running_interpreter().drop_link(index)

    async def _drop_next(self) -> None:
        """Cut the next client (round robin) that has a broker link."""
        for step in limits.CLIENT_INDEXES:
            index = (self._next_drop + step) % len(limits.CLIENT_INDEXES)
            if self.drop_link(index):
                self._next_drop = index + 1
                return

    async def reboot(self, banner: str = "RDY") -> None:
        """Reset like a power cycle, even mid-command: links cut, state and echo back to
        power-on, unread input and unsent output lost, then ``banner`` is printed."""
        await self._restart(banner, lose_output=True)

    async def _restart(self, banner: str, *, lose_output: bool) -> None:
        self._running_interpreter()  # a module that is not running cannot reboot
        await self._power_off()
        self._input.clear()
        if lose_output:
            self._output.flush_pending()
        self._output.write(frame(banner))
        self._power_on()

    def _reset_asked(self) -> None:
        """``AT+CFUN=1,1``: a reset like the reboot fault's, from the module's group (the
        interpreter that asked is among what it cancels); its ``OK`` still goes out."""
        if self._group is not None:
            reset = self._restart(self._banner, lose_output=False)
            self._group.create_task(reset, name=f"{TASK_PREFIX}reset")

    def inject(self, data: bytes) -> None:
        """Write raw bytes to the host, in order with everything else the module says."""
        self._output.write(data)
