"""Supervised sessions against the virtual NM28 and a real broker: detection of a lost link
(failing command, status URC, unexpected final code, poll), reconnection with re-applied
configuration and resubscription, publishing through an outage, and the session's end."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio
import pytest
from support.brokers import BrokerInfo, MosquittoFactory, publish_with_tool, start_subscriber
from support.rig import FAST_BACKOFF, collect, wait_reconnected, wait_until

import nm28_async as nm
from nm28_async import (
    Backoff,
    LinkState,
    NotConnectedError,
    OutboxFullError,
    Session,
    StateChange,
)
from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e

CEILING = 20.0
"""Seconds any wait may take: generous, so a busy machine passes. Where a test tells one
detection from another, the other is made to take longer than this."""


async def history(session: Session) -> list[StateChange]:
    """Every state change of a session that has ended."""
    return [change async for change in session.states()]


def wire_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the driver's wire trace logged (caplog set to DEBUG for nm28_async.wire)."""
    return [r.getMessage() for r in caplog.records if r.name == "nm28_async.wire"]


def fast_session(
    modem: nm.Modem, broker: BrokerInfo, index: int, client_id: str, **options: Any
) -> AbstractAsyncContextManager[Session]:
    """``modem.session`` for client ``index`` on ``broker``, with the suite's fast backoff."""
    return modem.session(
        index, broker.host, broker.port, client_id=client_id, backoff=FAST_BACKOFF, **options
    )


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, factor=2.0, jitter=0.2)
    for attempt, base in enumerate([0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]):
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(base * 0.8 <= d <= base * 1.2 for d in delays), (attempt, min(delays))
        assert max(delays) - min(delays) > base * 0.1  # jittered, not constant
    # a very long outage (hours of attempts) must not overflow the exponent
    assert 24.0 <= backoff.delay(5000) <= 36.0


@pytest.mark.asyncio
async def test_dropped_link_is_found_by_poll_and_restored(
    sim: VirtualModem, broker: BrokerInfo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="nm28_async.wire")
    path = await sim.serve_pty()
    async with nm.Modem.open(path) as modem:
        async with fast_session(
            modem, broker, 2, "sup-poll", keepalive=45, poll_interval=0.3
        ) as session:
            await session.wait_connected(CEILING)
            await session.subscribe("sup/down", qos=1)
            assert session.client.subscriptions == {"sup/down": 1}
            assert sim.drop_link(2)
            # the poll finds it (the keep-alive would take 45 s and more)
            await wait_reconnected(session, 1, timeout=CEILING)
            # resubscribed: a message published by another client reaches the session
            await publish_with_tool(broker, "sup/down", b"after-drop", qos=1)
            (message,) = await collect(session, 1, timeout=CEILING)
            assert message.payload == b"after-drop"
            assert session.reconnects == 1
            assert (await modem.query_config())[2].keepalive == 45
        changes = await history(session)
    states = [c.state for c in changes]
    assert states == [
        LinkState.CONNECTING,
        LinkState.CONNECTED,
        LinkState.BACKING_OFF,
        LinkState.CONNECTING,
        LinkState.CONNECTED,
        LinkState.CLOSED,
    ]
    assert "poll" in changes[2].reason
    # the configuration was applied on both connections
    sent = wire_lines(caplog)
    assert sum('"keepalive",2,45' in line for line in sent) == 2
    assert sum("MQTTSUB=2" in line for line in sent) == 2


@pytest.mark.asyncio
async def test_status_urc_finds_loss_without_waiting_for_the_poll(broker: BrokerInfo) -> None:
    """The sim's +MQTTSTAT (``link_lost_urc``) tells the session at once; the poll is 60 s."""
    async with VirtualModem(broker.url, link_lost_urc=True) as sim:
        path = await sim.serve_pty()
        async with nm.Modem.open(path) as modem:
            async with fast_session(modem, broker, 0, "sup-urc", poll_interval=60) as session:
                await session.wait_connected(CEILING)
                sim.inject(b"\r\n+MQTTSTAT: 1,1\r\n")  # another client's status: not ours
                # the reader has passed that URC on before this answer: had the session taken
                # it for its own, it would now wait for its reconnection
                await modem.command("AT")
                await session.wait_connected(CEILING)
                assert session.reconnects == 0
                assert sim.drop_link(0)  # the sim prints +MQTTSTAT: 0,1
                await wait_reconnected(session, 1, timeout=CEILING)
            changes = await history(session)
    assert "status URC" in changes[2].reason
    assert [c.state for c in changes].count(LinkState.BACKING_OFF) == 1


@pytest.mark.asyncio
async def test_unexpected_final_code_triggers_a_check(
    sim: VirtualModem, broker: BrokerInfo
) -> None:
    path = await sim.serve_pty()
    async with nm.Modem.open(path) as modem:
        async with fast_session(modem, broker, 1, "sup-final", poll_interval=60) as session:
            await session.wait_connected(CEILING)
            # a stray final while the link is fine: checked, and nothing happens
            polls = sim.commands_received["AT+MQTTCONN?"]
            sim.inject(b"\r\nOK\r\n")
            await wait_until(
                lambda: modem.statistics.unexpected_finals == 1, CEILING, "stray OK seen"
            )
            await wait_until(
                lambda: sim.commands_received["AT+MQTTCONN?"] > polls, CEILING, "link checked"
            )
            await modem.command("AT")  # after the check's answer: the session has judged it
            await session.wait_connected(CEILING)
            assert session.state is LinkState.CONNECTED
            assert session.reconnects == 0
            assert sim.drop_link(1)
            sim.inject(b"\r\nERROR\r\n")
            # found by the check the stray final asks for (the poll is 60 s away)
            await wait_reconnected(session, 1, timeout=CEILING)
            assert modem.statistics.unexpected_finals == 2
        changes = await history(session)
    assert "poll" in changes[2].reason


@pytest.mark.asyncio
async def test_failing_publish_reconnects_and_is_retried(
    sim: VirtualModem, broker: BrokerInfo
) -> None:
    path = await sim.serve_pty()
    async with (
        nm.Modem.open(path) as modem,
        fast_session(modem, broker, 3, "sup-pub", poll_interval=60) as session,
    ):
        await session.wait_connected(CEILING)
        sub = await start_subscriber(broker, "sup/up", count=1)
        try:
            assert sim.drop_link(3)
            await session.publish("sup/up", b"through-the-outage", qos=1, timeout=CEILING)
            (received,) = await sub.messages()
        finally:
            await sub.close()
        assert received.payload == b"through-the-outage"
        assert session.reconnects == 1
        assert session.state is LinkState.CONNECTED


@pytest.mark.asyncio
async def test_publish_while_down_fails_fast_or_waits_bounded(
    mosquitto: MosquittoFactory,
) -> None:
    info = mosquitto.start()
    mosquitto.stop(info)  # nobody listens: every OPEN fails with result 5
    async with VirtualModem(info.url) as sim:
        path = await sim.serve_pty()
        async with nm.Modem.open(path) as modem:
            async with fast_session(
                modem, info, 0, "sup-down", outbox_size=2, publish_timeout=0.5
            ) as session:
                await wait_until(
                    lambda: session.state is LinkState.BACKING_OFF, CEILING, "first attempt failed"
                )
                with pytest.raises(NotConnectedError):
                    await session.publish("t", b"x", qos=1, wait=False)
                started = time.monotonic()
                with pytest.raises(nm.Nm28TimeoutError):
                    await session.publish("t", b"x", qos=1)  # publish_timeout 0.5 s
                assert 0.4 < time.monotonic() - started < CEILING
                waiting = [
                    asyncio.create_task(session.publish("t", b"x", qos=1, timeout=10 * CEILING))
                    for _ in range(2)
                ]
                await asyncio.sleep(0)  # the two tasks take their outbox places before we go on
                with pytest.raises(OutboxFullError):
                    await session.publish("t", b"x", qos=1)
                with pytest.raises(nm.Nm28TimeoutError):
                    await session.wait_connected(0.1)
            # leaving the session fails what still waits: nothing is dropped silently
            results = await asyncio.wait_for(
                asyncio.gather(*waiting, return_exceptions=True), CEILING
            )
            assert [type(r) for r in results] == [NotConnectedError, NotConnectedError]
            changes = await history(session)
    assert session.state is LinkState.CLOSED
    reasons = [c.reason for c in changes if c.state is LinkState.BACKING_OFF]
    assert len(reasons) >= 2
    assert all("result 5" in r for r in reasons)


@pytest.mark.asyncio
async def test_leaving_the_session_disconnects_and_closes_the_client(
    sim: VirtualModem, broker: BrokerInfo
) -> None:
    path = await sim.serve_pty()
    async with nm.Modem.open(path) as modem:
        async with fast_session(modem, broker, 4, "sup-exit") as session:
            await session.wait_connected(CEILING)
            assert 4 in await modem.query_open()
        assert session.client.state is nm.ClientState.CLOSED
        assert 4 not in await modem.query_open()
        with pytest.raises(NotConnectedError):
            await session.publish("t", b"late", wait=False)
        with pytest.raises(NotConnectedError):
            await session.publish("t", b"late")


DYNSEC_PLUGIN_PLACES = (
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
)


def refusing_broker(mosquitto: MosquittoFactory, folder: Path, denied: str) -> BrokerInfo:
    """mosquitto whose dynamic-security plugin refuses subscriptions to ``denied`` (SUBACK
    0x80), as an ACL of a real deployment does. mosquitto 2.0's ``acl_file`` cannot: it
    grants every subscription and filters at delivery."""
    plugin = next((p for p in DYNSEC_PLUGIN_PLACES if Path(p).exists()), None)
    if plugin is None:
        pytest.skip("mosquitto's dynamic security plugin is not installed")
    rules = {
        "defaultACLAccess": {
            "publishClientSend": True, "publishClientReceive": True,
            "subscribe": True, "unsubscribe": True,
        },
        "clients": [],
        "groups": [{"groupname": "anonymous", "roles": [{"rolename": "deny"}], "clients": []}],
        "roles": [{
            "rolename": "deny",
            "acls": [{"acltype": "subscribePattern", "topic": denied, "allow": False}],
        }],
        "anonymousGroup": "anonymous",
    }  # fmt: skip
    config = folder / "dynamic-security.json"
    config.write_text(json.dumps(rules))
    return mosquitto.start(extra=(f"plugin {plugin}", f"plugin_opt_config_file {config}"))


@pytest.mark.asyncio
async def test_subscription_refused_by_the_broker_raises_and_keeps_the_link(
    mosquitto: MosquittoFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="nm28_async.wire")
    info = refusing_broker(mosquitto, tmp_path, "secret/#")
    async with VirtualModem(info.url) as sim:
        path = await sim.serve_pty()
        async with (
            nm.Modem.open(path) as modem,
            fast_session(modem, info, 0, "sup-acl", poll_interval=0.3) as session,
        ):
            assert await session.subscribe("open/#", qos=1) == 1
            with pytest.raises(nm.SubscribeError) as caught:
                await session.subscribe("secret/#", qos=1)
            assert caught.value.code == 2
            assert session.state is LinkState.CONNECTED
            await publish_with_tool(info, "open/a", b"still-subscribed")
            (message,) = await collect(session, 1, timeout=5)
            assert message.payload == b"still-subscribed"
            # a reconnection re-makes only the granted filter, and succeeds
            assert sim.drop_link(0)
            await wait_reconnected(session, 1, timeout=10)
            await publish_with_tool(info, "open/b", b"after-reconnect")
            (message,) = await collect(session, 1, timeout=5)
            assert message.payload == b"after-reconnect"
            assert (session.state, session.reconnects) == (LinkState.CONNECTED, 1)
    sent = wire_lines(caplog)
    assert sum('"secret/#"' in line for line in sent) == 1
    assert sum('"open/#"' in line for line in sent) == 2


@pytest.mark.asyncio
async def test_a_deadline_ending_mqtt_frees_the_index_for_the_next(
    sim: VirtualModem, broker: BrokerInfo
) -> None:
    path = await sim.serve_pty()
    async with nm.Modem.open(path) as modem:
        with anyio.move_on_after(60) as scope:
            async with modem.mqtt(1, broker.host, broker.port, client_id="deadline") as client:
                await client.subscribe("deadline/t", qos=1)
                scope.deadline = anyio.current_time() + 0.1
                await anyio.sleep(60)
        assert scope.cancelled_caught
        assert 1 not in await modem.query_open()
        async with modem.mqtt(1, broker.host, broker.port, client_id="deadline") as client:
            assert client.state is nm.ClientState.CONNECTED
