"""The bridge composed: the module's session (durable outbox), the local broker's client, the
uplink and the downlink between them, metrics and health, under one anyio task group.

SIGTERM (or SIGINT) drains: no more local messages are taken, those taken are stored and
acknowledged, the outbox is given `drain_timeout` seconds to empty while the link is up
(what is left stays on disk for the next run), then everything closes and the session frees
its client index. A second signal ends the drain at once.
"""

from __future__ import annotations

import logging
import signal

import aiomqtt
import anyio

from ..errors import Nm28Error, SubscribeError
from ..modem import Modem
from ..outbox import OutboxStats
from ..session import LinkState, Session
from .downlink import Downlink, Echoes, LocalLink
from .metrics import Metrics, serve, watch_network
from .options import Options
from .uplink import FatalError, Uplink, local_client

log = logging.getLogger("nm28_async.bridge")

EXIT_OK = 0
EXIT_INTERRUPTED = 130


def say(text: str) -> None:
    print(text, flush=True)


class Bridge:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.metrics = Metrics()
        self.stop = anyio.Event()
        self.exit_code = EXIT_OK
        self._signals = 0
        self._drain_scope = anyio.CancelScope()
        self._local = LocalLink()
        self._echoes = Echoes(
            tuple(route.remote_filter for route in options.receives), options.echo_window
        )
        self._uplink_done = anyio.Event()
        self._release_local = anyio.Event()
        self._subscribed = not options.receives

    async def run(self) -> int:
        o = self.options
        server = None
        if o.metrics is not None:
            server = await serve(self.metrics, *o.metrics)
            host, port = server.sockets[0].getsockname()[:2]
            say(f"metrics on http://{host}:{port}/metrics")
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._watch_signals)
                await self._bridge()
                tasks.cancel_scope.cancel()
        finally:
            if server is not None:
                server.close()
        return self.exit_code

    async def _bridge(self) -> None:
        o = self.options
        async with Modem.open(o.module, baudrate=o.baudrate) as modem:
            self.metrics.time_commands(modem.engine)
            async with modem.session(
                o.client, o.host, o.port, client_id=o.client_id, username=o.username,
                password=o.password, outbox=o.store, outbox_size=o.outbox_size,
                outbox_overflow=o.overflow, max_age=o.max_age, backoff=o.backoff,
                poll_interval=o.poll_interval, keepalive=o.keepalive, clean_session=False,
            ) as session:  # fmt: skip
                self.metrics.read_session(lambda: _session_numbers(session))
                say(
                    f"bridging {o.local} and {o.host}:{o.port} through {o.module}: "
                    + ", ".join(str(route) for route in o.routes)
                )
                uplink = Uplink(o, session, self.metrics, self._echoes)
                downlink = Downlink(o, self._local, self.metrics, self._echoes)
                async with anyio.create_task_group() as inner:
                    inner.start_soon(self._watch_states, session)
                    inner.start_soon(self._subscribe_cloud, session)
                    inner.start_soon(downlink.run, session.messages())
                    inner.start_soon(
                        watch_network, self.metrics, modem.network.status, o.status_interval
                    )
                    inner.start_soon(self._local_loop, uplink)
                    await self.stop.wait()
                    log.info("stopping: draining")
                    uplink.stop()
                    with self._drain_scope:
                        await self._uplink_done.wait()
                        if uplink.failure is None:
                            await self._flush(session)
                    self._release_local.set()
                    inner.cancel_scope.cancel()
                if uplink.failure is not None:
                    raise FatalError(f"the outbox failed: {uplink.failure}")

    async def _flush(self, session: Session) -> None:
        timeout = self.options.drain_timeout
        if timeout <= 0 or session.state is not LinkState.CONNECTED:
            return
        try:
            await session.flush(timeout=timeout)
        except (TimeoutError, Nm28Error) as exc:
            log.warning("stopping with %d message(s) left in the outbox: %s",
                        session.outbox_stats.depth, exc)  # fmt: skip

    async def _watch_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for number in signals:
                self._signals += 1
                if number == signal.SIGINT:
                    self.exit_code = EXIT_INTERRUPTED
                if self._signals > 1:
                    self._drain_scope.cancel()  # a second signal: stop draining
                self.stop.set()

    async def _watch_states(self, session: Session) -> None:
        self._show_state(session.state, "starting")
        async for change in session.states():
            self._show_state(change.state, change.reason)

    def _show_state(self, state: LinkState, reason: str) -> None:
        up = state is LinkState.CONNECTED
        self.metrics.link_up.set(1 if up else 0)
        if not up:
            self.metrics.health.cloud_reason = f"cloud link {state.value}: {reason}"
        elif not self._subscribed:
            self.metrics.health.cloud_reason = "cloud subscriptions pending"
        else:
            self.metrics.health.cloud_reason = None

    async def _subscribe_cloud(self, session: Session) -> None:
        for route in self.options.receives:
            while True:
                try:
                    await session.subscribe(route.remote_filter, route.qos)
                except TimeoutError:
                    continue  # the link is not up yet: the session keeps trying
                except (SubscribeError, ValueError) as exc:
                    raise FatalError(f"cannot subscribe to {route.remote_filter!r}: {exc}") from exc
                break
        self._subscribed = True
        self._show_state(session.state, "subscribed")

    async def _local_loop(self, uplink: Uplink) -> None:
        o = self.options
        health = self.metrics.health
        attempt = 0
        connections = 0
        try:
            while not self.stop.is_set():
                client = local_client(o)
                try:
                    async with client:
                        await uplink.subscribe(client)
                        attempt = 0
                        connections += 1
                        if connections > 1:
                            self.metrics.local_reconnects.inc()
                        self._local.connected(client)
                        self.metrics.local_up.set(1)
                        health.local_reason = None
                        await uplink.run(client)
                        if uplink.failure is not None or self.stop.is_set():
                            self.stop.set()
                            self._uplink_done.set()
                            await self._release_local.wait()
                            return
                except aiomqtt.MqttError as exc:
                    self._local.lost()
                    self.metrics.local_up.set(0)
                    health.local_reason = f"local broker {o.local.address}: {exc}"
                    log.warning("local broker %s: %s", o.local.address, exc)
                    if self.stop.is_set():
                        return
                    with anyio.move_on_after(o.backoff.delay(attempt)):
                        await self.stop.wait()
                    attempt += 1
        finally:
            self._local.lost()
            self.metrics.local_up.set(0)
            self._uplink_done.set()


def _session_numbers(session: Session) -> tuple[OutboxStats, int] | None:
    try:
        return session.outbox_stats, session.reconnects
    except Nm28Error:
        return None


def first_error(exc: BaseException) -> BaseException:
    """The first exception inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


async def run(options: Options) -> int:
    """Run the bridge until a signal (0, or 130 for SIGINT) or a failure (raised)."""
    return await Bridge(options).run()
