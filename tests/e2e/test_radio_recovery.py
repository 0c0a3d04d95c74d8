"""The radio end to end on the virtual NM28 and a real broker: a session with `recovery=`
waits out lost coverage without sending AT+MQTTOPEN, is woken by the registration URC,
delivers what was published meanwhile; a wedged module is recovered by the radio cycle, a
dropped PDP context by its reactivation; a denied registration is reported, not retried."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from support.brokers import BrokerInfo
from support.listen import Listener
from support.rig import FAST_BACKOFF

import nm28_async as nm
from nm28_async.protocol.network import RegistrationStat
from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e

CEILING = 30.0
"""Seconds any wait may take: a busy machine passes, a session that never recovers does not."""
OUTAGE = 4.0
"""Seconds without coverage: a session retrying every backoff (0.05 to 0.5 s) would send
AT+MQTTOPEN many times over."""
NO_POLL = 300.0
"""A registration poll that never comes within a test: only the URC can wake the session."""


class Opens(logging.Handler):
    """Counts the AT+MQTTOPEN commands the driver sends (from its DEBUG wire trace)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "AT+MQTTOPEN=" in record.getMessage():
            self.count += 1


@asynccontextmanager
async def counting_opens() -> AsyncIterator[Opens]:
    opens = Opens()
    for name in ("nm28_async", "nm28_async.wire"):
        logging.getLogger(name).addHandler(opens)
    previous = logging.getLogger("nm28_async").level
    logging.getLogger("nm28_async").setLevel(logging.DEBUG)
    try:
        yield opens
    finally:
        logging.getLogger("nm28_async").setLevel(previous)
        for name in ("nm28_async", "nm28_async.wire"):
            logging.getLogger(name).removeHandler(opens)


class States:
    """Every state change of a session, collected as it comes."""

    def __init__(self, session: nm.Session) -> None:
        self.seen: list[nm.StateChange] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._collect(session))

    async def _collect(self, session: nm.Session) -> None:
        async for change in session.states():
            self.seen.append(change)
            self._changed.set()

    async def until(self, state: nm.LinkState, text: str = "") -> nm.StateChange:
        """The first change to `state` whose reason holds `text` (waiting for it)."""
        async with asyncio.timeout(CEILING):
            while True:
                for change in self.seen:
                    if change.state is state and text in change.reason:
                        return change
                self._changed.clear()
                await self._changed.wait()

    def close(self) -> None:
        self._task.cancel()


def session_of(
    modem: nm.Modem, broker: BrokerInfo, recovery: nm.Recovery, poll_interval: float = 30.0
) -> AbstractAsyncContextManager[nm.Session]:
    return modem.session(
        0, broker.host, broker.port, client_id="radio-gw", backoff=FAST_BACKOFF,
        recovery=recovery, poll_interval=poll_interval,
    )  # fmt: skip


@pytest.mark.asyncio
async def test_lost_coverage_sends_no_open_and_the_urc_brings_the_link_back(
    sim: VirtualModem, broker: BrokerInfo
) -> None:
    path = await sim.serve_pty()
    async with (
        Listener(broker, "radio/#", "radio/probe") as listener,
        nm.Modem.open(path) as modem,
        session_of(modem, broker, nm.Recovery(registration_poll=NO_POLL), poll_interval=1.0)
        as session,
    ):  # fmt: skip
        states = States(session)
        await session.wait_connected(CEILING)
        async with counting_opens() as opens:
            sim.set_coverage(False)
            await states.until(nm.LinkState.NO_NETWORK, "searching")
            publishes = [
                asyncio.create_task(session.publish("radio/up", f"m{n}", qos=1)) for n in range(5)
            ]
            await asyncio.sleep(OUTAGE)  # the outage: what the session does meanwhile is counted
            during = opens.count
            sim.set_coverage(True)
            await session.wait_connected(CEILING)  # woken by the URC: no poll comes in time
            await asyncio.wait_for(asyncio.gather(*publishes), CEILING)
        heard = await listener.until_payloads({f"m{n}" for n in range(5)})
        states.close()
    assert during <= 1  # at most the attempt under way when coverage went
    assert {topic for topic, _ in heard} == {"radio/up"}
    assert not any(c.state is nm.LinkState.RECOVERING for c in states.seen)


@pytest.mark.asyncio
async def test_a_wedged_module_is_recovered_by_the_radio_cycle(
    sim: VirtualModem, broker: BrokerInfo
) -> None:
    path = await sim.serve_pty()
    recovery = nm.Recovery(reactivate_pdp_after=1, cycle_radio_after=2, registration_poll=1.0)
    async with (
        nm.Modem.open(path) as modem,
        session_of(modem, broker, recovery, poll_interval=0.5) as session,
    ):
        states = States(session)
        await session.wait_connected(CEILING)
        sim.wedge()  # every MQTT command answers ERROR from now on
        cycle = await states.until(nm.LinkState.RECOVERING, "radio off and on")
        await session.wait_connected(CEILING)
        assert session.state is nm.LinkState.CONNECTED
        await session.publish("radio/after", "ok", qos=1)  # the MQTT stack works again
        states.close()
    pdp = next(c for c in states.seen if c.state is nm.LinkState.RECOVERING)
    assert "PDP context reactivation" in pdp.reason  # the lower rung came first
    assert "ERROR" in cycle.reason


@pytest.mark.asyncio
async def test_a_pdp_context_the_network_dropped_is_reactivated(
    sim: VirtualModem, broker: BrokerInfo
) -> None:
    path = await sim.serve_pty()
    recovery = nm.Recovery(reactivate_pdp_after=1, cycle_radio_after=5, registration_poll=1.0)
    async with (
        nm.Modem.open(path) as modem,
        session_of(modem, broker, recovery, poll_interval=0.5) as session,
    ):
        states = States(session)
        await session.wait_connected(CEILING)
        sim.drop_pdp()  # links drop; AT+MQTTOPEN answers 3 until AT+CGACT=1,1
        step = await states.until(nm.LinkState.RECOVERING, "PDP context reactivation")
        await session.wait_connected(CEILING)
        status = await modem.network.status()
        states.close()
    assert "result 3" in step.reason or "open" in step.reason
    assert status.pdp_active is True
    assert not any("radio off" in c.reason for c in states.seen)


@pytest.mark.asyncio
async def test_a_denied_registration_is_reported_and_sends_nothing_to_the_broker(
    sim: VirtualModem, broker: BrokerInfo
) -> None:
    sim.set_registration(RegistrationStat.DENIED, reject_cause=15)
    path = await sim.serve_pty()
    async with (
        nm.Modem.open(path) as modem,
        counting_opens() as opens,
        session_of(modem, broker, nm.Recovery(registration_poll=0.2)) as session,
    ):
        states = States(session)
        waiting = await states.until(nm.LinkState.NO_NETWORK)
        with pytest.raises(nm.Nm28TimeoutError):
            await session.wait_connected(1.0)  # several registration polls go by meanwhile
        status = await modem.network.status()
        states.close()
    assert "registration denied" in waiting.reason
    assert opens.count == 0
    assert status.registration is nm.Registration.DENIED
    assert not any(c.state is nm.LinkState.RECOVERING for c in states.seen)


@pytest.mark.asyncio
async def test_network_status_reads_the_virtual_modules_radio(sim: VirtualModem) -> None:
    sim.set_signal(rssi_dbm=-71, rsrp_dbm=-95, rsrq_db=-11, sinr_db=13)
    path = await sim.serve_pty()
    async with nm.Modem.open(path) as modem:
        status = await modem.network.status()
        registered = await modem.network.wait_registered(timeout=CEILING)
        changes = modem.network.changes()
        lost = asyncio.ensure_future(anext(changes))
        await asyncio.sleep(0)  # one turn: changes() listens (wait_registered turned URCs on)
        sim.set_coverage(False)
        change = await asyncio.wait_for(lost, CEILING)
        await changes.aclose()
    assert status.registered
    assert registered.registered
    assert status.technology is nm.Technology.NR5G_SA
    assert status.operator == "Yuge Sim"
    assert status.ip == "10.0.0.2"
    assert status.signal.rssi_dbm is not None
    assert abs(status.signal.rssi_dbm - -71) <= 2
    assert status.signal.rsrp_dbm is not None
    assert abs(status.signal.rsrp_dbm - -95) <= 1
    assert change.registration is nm.Registration.SEARCHING
