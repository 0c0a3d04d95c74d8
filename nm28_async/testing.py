"""A pytest plugin: a broker, the virtual NM28 and an open modem as fixtures for the tests of a
gateway built on nm28-async.

Installing `nm28-async[sim]` registers it (the `pytest11` entry point), so a test suite gets:

* `nm28_broker`: a running MQTT broker (`.host`, `.port`, `.url`): mosquitto when it is on
  PATH, the embedded Python broker otherwise, or the one `--nm28-broker URL` names. One per
  test session.
* `nm28_sim`: a virtual NM28 on a pty, attached to `nm28_broker`, with `.port` (what to give
  `Modem.open`) and its fault knobs: `.drop_link(i)`, `.reboot()`, `.inject(bytes)`,
  `.close_port()`, and the radio's: `.set_coverage(bool)`, `.set_signal(...)`,
  `.set_registration(stat, reject_cause=...)`, `.drop_pdp()`, `.wedge()`. The marker
  `@pytest.mark.nm28_sim(result_after_ok=True, network_latency=0.05)` sets any `VirtualModem`
  knob for a test. One per test.
* `nm28_modem`: an open `nm28_async.Modem` on `nm28_sim` (an async fixture: pytest-asyncio,
  strict or auto mode).
* `nm28_replay`: plays back a recording (`Modem.open(record=...)`): `nm28_replay(path)` gives
  the pty of a module that answers as the recorded one did.

The broker and the virtual module run in a thread of their own with their own event loop, as
a real module runs beside the host: they never share the test's loop, whatever its scope.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from .modem import Modem
from .protocol.broker_url import BrokerUrl
from .protocol.network import AccessTechnology, RegistrationStat
from .tools.mosquitto import Mosquitto, find_program

if TYPE_CHECKING:
    from .sim import VirtualModem

T = TypeVar("T")

START_LIMIT = 30.0
"""Seconds a broker or the virtual module may take to start or stop."""


@dataclass(frozen=True)
class Broker:
    """Where the test's MQTT broker listens."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


class _Loop:
    """An event loop in a daemon thread, for what plays the module's side."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, work: Callable[[], Awaitable[T]], limit: float = START_LIMIT) -> T:
        """Run `work()` there and wait for its result (at most `limit` seconds)."""

        async def call() -> T:
            return await work()

        future: Future[T] = asyncio.run_coroutine_threadsafe(call(), self._loop)
        return future.result(limit)

    def call(self, function: Callable[[], T]) -> T:
        """Call a plain function there (the sim is not thread-safe) and return its result."""

        async def called() -> T:
            return function()

        return self.run(called)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(START_LIMIT)
        self._loop.close()


class Nm28Sim:
    """The fixture's handle on a virtual NM28 running in the plugin's thread."""

    def __init__(self, loop: _Loop, sim: VirtualModem, port: str, broker: Broker) -> None:
        self._loop = loop
        self._sim = sim
        self.port = port
        """The pty's path: what to give `Modem.open`."""
        self.broker = broker

    def drop_link(self, index: int) -> bool:
        """Cut client `index`'s broker link, as a bad network does; False if it had none."""
        return self._loop.call(lambda: self._sim.drop_link(index))

    def reboot(self, banner: str = "RDY") -> None:
        """Reset the module as a power cycle does, then print `banner`."""
        self._loop.run(lambda: self._sim.reboot(banner))

    def inject(self, data: bytes) -> None:
        """Write raw bytes to the host, in order with everything else the module says."""
        self._loop.call(lambda: self._sim.inject(data))

    def close_port(self) -> None:
        """Pull the port away, as an unplugged USB cable does."""
        self._loop.call(self._sim.close_port)

    def set_coverage(self, covered: bool) -> None:
        """Lose coverage (registration URCs, links dropped, `AT+MQTTOPEN` answers 3) or
        regain it."""
        self._loop.call(lambda: self._sim.set_coverage(covered))

    def set_signal(
        self,
        *,
        rssi_dbm: float | None = None,
        rsrp_dbm: float | None = None,
        rsrq_db: float | None = None,
        sinr_db: float | None = None,
    ) -> None:
        """What `AT+CSQ` and `AT+CESQ` report from now on; None: not known."""
        self._loop.call(
            lambda: self._sim.set_signal(
                rssi_dbm=rssi_dbm, rsrp_dbm=rsrp_dbm, rsrq_db=rsrq_db, sinr_db=sinr_db
            )
        )

    def set_registration(
        self,
        stat: RegistrationStat,
        *,
        reject_cause: int | None = None,
        technology: AccessTechnology | None = None,
    ) -> None:
        """What the network grants: `RegistrationStat.DENIED` with a `reject_cause`, say."""
        self._loop.call(
            lambda: self._sim.set_registration(
                stat, reject_cause=reject_cause, technology=technology
            )
        )

    def drop_pdp(self) -> None:
        """The network drops the PDP context: `AT+MQTTOPEN` answers 3 until `AT+CGACT=1,1`."""
        self._loop.call(self._sim.drop_pdp)

    def wedge(self) -> None:
        """MQTT commands answer `ERROR` until `AT+CFUN=0` and `=1` (or `AT+CFUN=1,1`)."""
        self._loop.call(self._sim.wedge)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nm28", "nm28-async: the virtual NM28")
    group.addoption(
        "--nm28-broker",
        metavar="URL",
        default=None,
        help="mqtt://HOST:PORT of a running broker for nm28_broker (default: start mosquitto "
        "if it is on PATH, else the embedded Python broker)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "nm28_sim(**knobs): VirtualModem knobs for the nm28_sim fixture, e.g. "
        "result_after_ok=True, network_latency=0.05",
    )


@pytest.fixture(scope="session")
def _nm28_loop() -> Iterator[_Loop]:
    loop = _Loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def nm28_broker(request: pytest.FixtureRequest, _nm28_loop: _Loop) -> Iterator[Broker]:
    """A running MQTT broker for the test session."""
    url = request.config.getoption("--nm28-broker")
    if url is not None:
        given = BrokerUrl.parse(url)
        yield Broker(given.host, given.port)
        return
    mosquitto = find_program("mosquitto")
    if mosquitto is not None:
        yield from _run_mosquitto(mosquitto)
        return
    yield from _run_embedded(_nm28_loop)


@pytest.fixture
def nm28_sim(
    request: pytest.FixtureRequest, nm28_broker: Broker, _nm28_loop: _Loop
) -> Iterator[Nm28Sim]:
    """A virtual NM28 on a pty, attached to `nm28_broker`; knobs from `@pytest.mark.nm28_sim`."""
    from .sim import VirtualModem

    marker = request.node.get_closest_marker("nm28_sim")
    knobs: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    sim = VirtualModem(nm28_broker.url, **knobs)

    async def start() -> str:
        await sim.start()
        return await sim.serve_pty()

    port = _nm28_loop.run(start)
    try:
        yield Nm28Sim(_nm28_loop, sim, port, nm28_broker)
    finally:
        _nm28_loop.run(sim.stop)


@pytest.fixture
def nm28_replay(_nm28_loop: _Loop) -> Iterator[Callable[[str | Path], str]]:
    """`nm28_replay(path)`: the pty of a module that plays back the recording at `path`."""
    from .sim import ReplayModule

    modules: list[ReplayModule] = []

    def play(recording: str | Path) -> str:
        module = ReplayModule(recording)
        modules.append(module)
        return _nm28_loop.run(module.serve_pty)

    yield play
    for module in modules:
        _nm28_loop.run(module.stop)


def _modem_fixture() -> Any:
    """`nm28_modem`: an async fixture where pytest-asyncio is installed; elsewhere one that
    says what it needs, rather than an import error in every test suite of the machine."""
    try:
        import pytest_asyncio
    except ImportError:

        @pytest.fixture(name="nm28_modem")
        def needs_pytest_asyncio(nm28_sim: Nm28Sim) -> None:
            pytest.fail("nm28_modem is an async fixture: install pytest-asyncio")

        return needs_pytest_asyncio

    @pytest_asyncio.fixture(name="nm28_modem")
    async def open_modem(nm28_sim: Nm28Sim) -> AsyncIterator[Modem]:
        """An open Modem on `nm28_sim`, closed after the test."""
        async with Modem.open(nm28_sim.port) as modem:
            yield modem

    return open_modem


nm28_modem = _modem_fixture()


def _run_mosquitto(binary: str) -> Iterator[Broker]:
    with tempfile.TemporaryDirectory(prefix="nm28-broker-") as folder:
        mosquitto = Mosquitto(binary, Path(folder))
        mosquitto.start()
        try:
            yield Broker(mosquitto.host, mosquitto.port)
        finally:
            mosquitto.stop()


def _run_embedded(loop: _Loop) -> Iterator[Broker]:
    from .sim import EmbeddedBroker

    broker = EmbeddedBroker("127.0.0.1", 0)
    loop.run(broker.start)
    try:
        yield Broker(broker.host, broker.port)
    finally:
        loop.run(broker.stop)
