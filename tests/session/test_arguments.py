"""Arguments of `modem.mqtt()`, `modem.session()` and `Session.subscribe/unsubscribe/publish`
are checked at the call: a plain ValueError, before anything is stored or written."""

from __future__ import annotations

from typing import Any

import pytest
from support.linked_module import LinkedModule
from support.rig import FAST_BACKOFF
from support.scripted_module import ScriptedModule

import nm28_async as nm
from nm28_async import ConnectionParams, Will

BAD_CONNECTIONS: list[dict[str, Any]] = [
    {"port": 99999},
    {"port": 0},
    {"port": "1883"},
    {"host": ""},
    {"host": 'a"b'},
    {"host": "h" * 200},
    {"client_id": 'gw"1'},
    {"client_id": "gw\r\nAT+MQTTCLOSE=0"},
    {"username": 'u"'},
    {"password": "p\n"},
    {"keepalive": 5},
    {"keepalive": 291},
    {"version": 5},
    {"pdpcid": 0},
    {"ssl": 1},
    {"ssl": True, "ssl_ctx": 6},
    {"clean_session": "yes"},
    {"pkt_timeout": 0},
    {"retries": 11},
    {"timeout_notice": 1},
    {"will": True},
    {"will": "topic"},
    {"will": Will("a/+/b")},
    {"will": Will("t", qos=3)},
    {"payload_in_urc": 0},
    {"length_field": "no"},
    {"cached": None, "keepalive": 9},
]
BAD_SESSIONS: list[dict[str, Any]] = [
    {"poll_interval": 0},
    {"poll_interval": float("nan")},
    {"outbox_size": 0},
    {"outbox_size": 1.5},
    {"publish_timeout": -1},
    {"publish_timeout": "60"},
    {"status_urc": "MQTTSTAT"},
    {"backoff": 1.0},
]
BAD_SUBSCRIPTIONS: list[tuple[str, Any]] = [
    ("a/#/b", 0),
    ("a+/b", 0),
    ("", 0),
    ('a"b', 0),
    ("t", 3),
    ("t", -1),
    ("t", True),
]
BAD_PUBLISHES: list[dict[str, Any]] = [
    {"topic": "a/+"},
    {"topic": "a/#"},
    {"topic": ""},
    {"topic": "t\r"},
    {"payload": b""},
    {"payload": b"x" * 2049},
    {"payload": 42},
    {"qos": 3},
    {"retain": 1},
    {"publish_type": 3},
    {"timeout": 0},
]


def connection(**changes: Any) -> dict[str, Any]:
    return {"host": "broker", "port": 1883, "client_id": "gw-1", **changes}


@pytest.mark.parametrize("bad", BAD_CONNECTIONS, ids=repr)
def test_connection_params_are_checked_when_made(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is each encoder's own
        ConnectionParams(**connection(**bad))


def test_connection_params_mask_the_password_and_keep_only_given_options() -> None:
    params = ConnectionParams(
        **connection(username="u", password="s3cret", keepalive=60, clean_session=False, will=None)
    )
    assert "s3cret" not in repr(params)
    assert "password=***" in repr(params)
    assert params.configure_options() == {"keepalive": 60, "clean_session": False, "will": None}
    assert ConnectionParams(**connection()).configure_options() == {}


def test_backoff_is_checked_when_made() -> None:
    for bad in ({"initial": 0}, {"maximum": 0.1, "initial": 1}, {"factor": 0.5}, {"jitter": 1}):
        with pytest.raises(ValueError):  # noqa: PT011
            nm.Backoff(**bad)


@pytest.mark.asyncio
async def test_bad_mqtt_and_session_arguments_raise_at_the_call_and_send_nothing() -> None:
    async with ScriptedModule(mqtt="before") as mod, nm.Modem.open(mod.port) as modem:
        for bad in BAD_CONNECTIONS:
            with pytest.raises(ValueError):  # noqa: PT011
                modem.mqtt(0, **connection(**bad))
            with pytest.raises(ValueError):  # noqa: PT011
                modem.session(0, **connection(**bad))
        for bad in BAD_SESSIONS:
            with pytest.raises(ValueError):  # noqa: PT011
                modem.session(0, **connection(), **bad)
        with pytest.raises(ValueError, match="client_index"):
            modem.mqtt(6, **connection())
        with pytest.raises(TypeError):  # an unknown option, as for any Python call
            modem.session(0, **connection(), keep_alive=60)  # type: ignore[call-arg]
        assert mod.lines == ["AT", "ATE0"]


@pytest.mark.asyncio
@pytest.mark.parametrize("connect_first", [False, True], ids=["link down", "connected"])
async def test_bad_session_calls_raise_at_the_call_and_store_nothing(connect_first: bool) -> None:
    links = LinkedModule()
    async with (
        ScriptedModule(links.script(), echo=False) as mod,
        nm.Modem.open(mod.port) as modem,
        modem.session(
            0, **connection(), backoff=FAST_BACKOFF, poll_interval=60, publish_timeout=10
        ) as session,
    ):
        if connect_first:
            await session.wait_connected(5)
        for topic, qos in BAD_SUBSCRIPTIONS:
            with pytest.raises(ValueError):  # noqa: PT011
                await session.subscribe(topic, qos)
            if topic != "t":
                with pytest.raises(ValueError):  # noqa: PT011
                    await session.unsubscribe(topic)
        for bad in BAD_PUBLISHES:
            call = {"topic": "t", "payload": b"x", **bad}
            for wait in (True, False):
                with pytest.raises(ValueError):  # noqa: PT011
                    await session.publish(**call, wait=wait)
        # the supervisor still works, and a reconnection subscribes to nothing bad
        assert await session.subscribe("good/#", 1) == 1
        links.drop(0)
        session.link_lost("test: link dropped")
        await mod.wait_for("AT+MQTTOPEN=*", count=2, timeout=10)
        await session.wait_connected(10)
        assert session.state is nm.LinkState.CONNECTED
        sent = [x.line for x in mod.exchanges if x.name in ("MQTTSUB", "MQTTUNS", "MQTTPUBEX")]
    assert sent == ['AT+MQTTSUB=0,1,"good/#",1', 'AT+MQTTSUB=0,2,"good/#",1']


@pytest.mark.asyncio
async def test_a_session_publishes_onenet_data_points_with_their_publish_type() -> None:
    """`publish_type` reaches AT+MQTTPUBEX as its fifth field, as for the client."""
    links = LinkedModule()
    async with (
        ScriptedModule(links.script(), echo=False) as mod,
        nm.Modem.open(mod.port) as modem,
        modem.session(0, **connection(), backoff=FAST_BACKOFF, poll_interval=60) as session,
    ):
        await session.wait_connected(10)
        await session.publish("$dp", '{"temp":21}', qos=1, publish_type=1, timeout=10)
        (published,) = mod.commands("AT+MQTTPUBEX=*")
    assert published.args[2:6] == ["1", "0", "1", "$dp"]
    assert mod.payloads[-1][1] == b'{"temp":21}'
