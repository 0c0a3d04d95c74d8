"""Engine tests: result lines before or after OK, the free channel, URCs, six clients, msg IDs,
result codes. Every test runs the real driver against a scripted module on a real pty."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

import pytest
from support.scripted_module import (
    Exchange,
    Script,
    ScriptedModule,
    collect,
    mqtt_auto,
    never,
    recv_urc,
    result_when,
)

import nm28_async as nm

Op = Callable[[nm.MqttClient], Awaitable[object]]

# op name -> (call, expected wire line, expected return value, result line it awaits)
OPS: dict[str, tuple[Op, str, object, str]] = {
    "open": (
        lambda c: c.open("mqtt.example.net", 1883),
        'AT+MQTTOPEN=2,"mqtt.example.net",1883',
        None,
        "+MQTTOPEN: 2,0",
    ),
    "close": (lambda c: c.close(), "AT+MQTTCLOSE=2", None, "+MQTTCLOSE: 2,0"),
    "connect": (
        lambda c: c.connect("dev-1", "user", "pw"),
        'AT+MQTTCONN=2,"dev-1","user","pw"',
        None,
        "+MQTTCONN: 2,0,0",
    ),
    "disconnect": (lambda c: c.disconnect(), "AT+MQTTDISC=2", None, "+MQTTDISC: 2,0"),
    "subscribe": (
        lambda c: c.subscribe("data/+", qos=2),
        'AT+MQTTSUB=2,1,"data/+",2',
        2,
        "+MQTTSUB: 2,1,0,2",
    ),
    "unsubscribe": (
        lambda c: c.unsubscribe("data/+"),
        'AT+MQTTUNS=2,1,"data/+"',
        None,
        "+MQTTUNS: 2,1,0",
    ),
    "publish": (
        lambda c: c.publish("data", b'{"v":1}', qos=1),
        'AT+MQTTPUBEX=2,1,1,0,0,"data",7',
        1,
        "+MQTTPUBEX: 2,1,0",
    ),
    "ctwing": (lambda c: c.post_ctwing_version(), "AT+CTWINGPOSTVER=2", None, "+CTWINGPOSTVER: 0"),
}


def sent_text(mod: ScriptedModule) -> list[tuple[float, str]]:
    return [(t, chunk.decode("latin-1")) for t, chunk in mod.sent]


@pytest.mark.asyncio
@pytest.mark.parametrize("order", ["before", "after"])
@pytest.mark.parametrize("op", list(OPS))
async def test_result_line_before_or_after_ok(op: str, order: str) -> None:
    call, wire_line, expected, result_line = OPS[op]
    async with ScriptedModule(mqtt=order, mqtt_delay=(0.15, 0.15)) as mod:
        async with nm.Modem.open(mod.port, command_timeout=2.0, result_timeout=3.0) as modem:
            started = time.monotonic()
            value = await asyncio.wait_for(call(modem.client(2)), 10.0)
            returned = time.monotonic()
        assert value == expected
        assert mod.lines[2:] == [wire_line]
        if op == "publish":
            assert mod.payloads == [(wire_line, b'{"v":1}')]
        sent = sent_text(mod)
        result_at = [t for t, text in sent if result_line in text]
        ok_at = [t for t, text in sent if text == "\r\nOK\r\n" and t >= started]
        assert len(result_at) == 1
        assert result_at[0] <= returned, "the call returned before its result line was sent"
        if order == "after":
            assert ok_at[0] < result_at[0]
            assert returned - started >= 0.1
        else:
            assert result_at[0] <= ok_at[0]


@pytest.mark.asyncio
async def test_retransmission_progress_is_not_the_end() -> None:
    release = asyncio.Event()

    async def sub(x: Exchange) -> None:
        await x.send("+MQTTSUB: 0,1,1,1", "OK", "+MQTTSUB: 0,1,1,2")  # progress around OK
        await release.wait()
        await x.module.send("+MQTTSUB: 0,1,0,1")

    async def conn(x: Exchange) -> None:
        await x.send("OK", "+MQTTCONN: 0,1,0")  # progress after OK
        await release.wait()
        await x.module.send("+MQTTCONN: 0,0,0")

    script: Script = {"AT+MQTTSUB=*": sub, "AT+MQTTCONN=*": conn}
    async with ScriptedModule(script) as mod, nm.Modem.open(mod.port) as modem:
        client = modem.client(0)
        for call, expected in ((client.subscribe("t", 1), 1), (client.connect("id"), None)):
            release.clear()
            task = asyncio.ensure_future(call)
            # A command after it: its answer comes after the progress lines, so once it is
            # back they have been read, and a call that took one for its result has ended.
            assert await asyncio.wait_for(modem.command("AT"), 10.0) == []
            assert not task.done(), "a retransmission notice was taken for the result"
            release.set()
            assert await asyncio.wait_for(task, 10.0) == expected
        assert client.state is nm.ClientState.CONNECTED


@pytest.mark.asyncio
async def test_channel_is_free_while_a_client_awaits_its_result() -> None:
    release = asyncio.Event()
    slow_sub = result_when(release, lambda x: "+MQTTSUB: 0,1,0,1")
    script: Script = {"AT+MQTTSUB=0,*": slow_sub, "AT+CSQ": ["+CSQ: 20,99", "OK"]}
    async with (
        ScriptedModule(script, mqtt="after", mqtt_delay=(0.01, 0.03)) as mod,
        nm.Modem.open(mod.port, command_timeout=2.0) as modem,
    ):
        pending = asyncio.create_task(modem.client(0).subscribe("slow", 1))
        await mod.wait_for("AT+MQTTSUB=0,*")
        started = time.monotonic()
        other = modem.client(1)
        await asyncio.wait_for(other.open("h", 1883), 10.0)
        await asyncio.wait_for(other.connect("c1"), 10.0)
        assert await asyncio.wait_for(other.publish("p", b"x" * 100, qos=1), 10.0) == 1
        assert await asyncio.wait_for(modem.command("AT+CSQ"), 10.0) == ["+CSQ: 20,99"]
        assert time.monotonic() - started < 10.0
        assert not pending.done()
        release.set()
        assert await asyncio.wait_for(pending, 10.0) == 1


@pytest.mark.asyncio
async def test_urcs_between_result_and_ok_and_after_connect_prompt() -> None:
    async def sub(x: Exchange) -> None:
        await x.send(
            "+MQTTSUB: 0,1,0,1",
            recv_urc(0, 11, "down", b"between result and OK"),
            "+CEREG: 1,5",
            recv_urc(3, 12, "other", b"for client 3"),
            "OK",
        )

    async def pub(x: Exchange) -> None:
        await x.read_payload(
            int(x.args[6]),
            after_prompt=[recv_urc(0, 13, "down", b"right after CONNECT\r\nOK\r\n"), "+X: 1"],
        )
        await x.send(recv_urc(0, 14, "down", b"before the result"), "+MQTTPUBEX: 0,2,0", "OK")

    script: Script = {"AT+MQTTSUB=*": sub, "AT+MQTTPUBEX=*": pub}
    async with ScriptedModule(script) as mod, nm.Modem.open(mod.port) as modem:
        client = modem.client(0)
        assert await asyncio.wait_for(client.subscribe("down", 1), 10.0) == 1
        assert await asyncio.wait_for(client.publish("up", b"payload"), 10.0) == 2
        got = await collect(client.messages(), 3)
        assert [(m.packet_id, m.topic, m.payload) for m in got] == [
            (11, "down", b"between result and OK"),
            (13, "down", b"right after CONNECT\r\nOK\r\n"),
            (14, "down", b"before the result"),
        ]
        assert all(m.client_index == 0 for m in got)
        assert modem.client(3).queued_messages == 1
        urcs = [getattr(u, "raw", getattr(u, "text", "")) for u in await collect(modem.urcs(), 2)]
        assert urcs == ["+CEREG: 1,5", "+X: 1"]
        assert mod.payloads == [('AT+MQTTPUBEX=0,2,0,0,0,"up",7', b"payload")]


@pytest.mark.asyncio
@pytest.mark.parametrize("order", ["after", "before", "mixed"])
async def test_six_clients_on_six_tasks(order: str) -> None:
    async with (
        ScriptedModule(mqtt=order, mqtt_delay=(0.0, 0.08), seed=28) as mod,
        nm.Modem.open(mod.port, command_timeout=3.0, result_timeout=5.0) as modem,
    ):

        async def session(index: int) -> None:
            client = modem.client(index)
            await client.configure(keepalive=60, clean_session=True)
            await client.open(f"broker{index}.example", 1883)
            await client.connect(f"dev{index}", "user", "pw")
            assert await client.subscribe(f"down/{index}", qos=index % 3) == index % 3
            for n in range(3):
                msg_id = await client.publish(f"up/{index}", f"{index}:{n}".encode() * 20, qos=1)
                assert msg_id == n + 2
            await client.unsubscribe(f"down/{index}")
            await client.disconnect()
            await client.close()
            assert client.state is nm.ClientState.CLOSED

        started = time.monotonic()
        async with asyncio.timeout(15):
            async with asyncio.TaskGroup() as tg:
                for index in range(6):
                    tg.create_task(session(index))
        elapsed = time.monotonic() - started
    assert elapsed < 15
    # Every client's payloads arrived whole, in its own order.
    for index in range(6):
        mine = [data for line, data in mod.payloads if line.startswith(f"AT+MQTTPUBEX={index},")]
        assert mine == [f"{index}:{n}".encode() * 20 for n in range(3)]
    assert len(mod.exchanges) == 2 + 6 * 11
    if order == "after":
        # Results came back in an order other than the commands': matching used the keys.
        keyed = re.compile(r"\+(MQTT\w+): (\d+),(\d+)")
        result_order = [
            m.groups() for _, chunk in mod.sent for m in keyed.finditer(chunk.decode("latin-1"))
        ]
        command_order = [
            (x.name, x.args[0])
            for x in mod.exchanges
            if x.name.startswith("MQTT") and x.name != "MQTTCFG"
        ]
        assert len(result_order) == len(command_order) == 6 * 9
        assert [r[:2] for r in result_order] != command_order
        assert sorted(r[:2] for r in result_order) == sorted(command_order)


@pytest.mark.asyncio
async def test_msg_ids_are_allocated_per_client() -> None:
    async with (
        ScriptedModule(mqtt="before") as mod,
        nm.Modem.open(mod.port) as modem,
    ):
        a, b = modem.client(0), modem.client(1)
        assert [await a.publish("t", b"x") for _ in range(3)] == [1, 2, 3]
        assert await b.publish("t", b"x") == 1
        assert await b.subscribe("s", 0) == 0
        assert await a.subscribe("s", 1) == 1
        ids = [(x.args[0], x.args[1]) for x in mod.exchanges if x.name in ("MQTTPUBEX", "MQTTSUB")]
        assert ids == [("0", "1"), ("0", "2"), ("0", "3"), ("1", "1"), ("1", "2"), ("0", "4")]


@pytest.mark.asyncio
async def test_msg_ids_skip_ids_in_flight() -> None:
    release = asyncio.Event()
    slow_sub = result_when(release, lambda x: f"+MQTTSUB: 0,{x.msg_id},0,1")
    async with (
        ScriptedModule({"AT+MQTTSUB=*": slow_sub}, mqtt="after", mqtt_delay=(0.01, 0.02)) as mod,
        nm.Modem.open(mod.port) as modem,
    ):
        client = modem.client(0)
        pending = asyncio.create_task(client.subscribe("slow", 1))  # holds msg id 1
        await mod.wait_for("AT+MQTTSUB=*")
        # Wrap the counter all the way round: ids 2..65535 are used and released.
        for expected in range(2, 65536):
            with client._msg_ids.held() as msg_id:
                assert msg_id == expected
        # 1 is still in flight, so the next id is 2.
        assert await asyncio.wait_for(client.publish("t", b"x", qos=1), 10.0) == 2
        assert mod.payloads[0][0] == 'AT+MQTTPUBEX=0,2,1,0,0,"t",1'
        release.set()
        assert await asyncio.wait_for(pending, 10.0) == 1
        with client._msg_ids.held() as msg_id:
            assert msg_id == 3


@pytest.mark.asyncio
async def test_result_codes_are_translated() -> None:
    def result_line(x: Exchange) -> str | None:
        msg_id = x.args[1] if len(x.args) > 1 else ""
        return {
            "MQTTOPEN": "+MQTTOPEN: 0,4",
            "MQTTCONN": "+MQTTCONN: 0,0,4",
            "MQTTSUB": f"+MQTTSUB: 0,{msg_id},2",
            "MQTTPUBEX": f"+MQTTPUBEX: 0,{msg_id},-1",
            "MQTTCLOSE": "+MQTTCLOSE: 0,-1",
        }.get(x.name)

    async def cme_uns(x: Exchange) -> None:
        await x.cme(3)

    handler = mqtt_auto("after", delay=(0.02, 0.02), result=result_line)
    script: Script = {re.compile(r"AT\+MQTT\w+=.*"): handler, "AT+MQTTUNS=*": cme_uns}
    async with ScriptedModule(script) as mod, nm.Modem.open(mod.port) as modem:
        client = modem.client(0)
        with pytest.raises(nm.OpenError) as opened:
            await client.open("no.such.host", 1883)
        assert opened.value.code == 4
        assert opened.value.meaning == "DNS resolution failed"
        assert "DNS resolution failed" in str(opened.value)
        assert modem.client(0).state is nm.ClientState.CLOSED

        with pytest.raises(nm.ConnectError) as refused:
            await client.connect("id", "user", "pw")
        assert refused.value.ret_code == 4
        assert refused.value.meaning == "bad user name or password"
        assert "bad user name or password" in str(refused.value)

        with pytest.raises(nm.SubscribeError) as sub:
            await client.subscribe("t", 1)
        assert sub.value.code == 2
        assert sub.value.meaning == "send failed"

        with pytest.raises(nm.PublishError) as pub:
            await client.publish("t", b"x")
        assert pub.value.code == -1

        with pytest.raises(nm.CloseError) as closed:
            await client.close()
        assert closed.value.code == -1

        with pytest.raises(nm.CommandError) as cme:
            await client.unsubscribe("t")
        assert cme.value.cme_error == "3"
        assert "+CME ERROR" in str(cme.value)
        for err in (opened, refused, sub, pub, closed, cme):
            assert isinstance(err.value, nm.Nm28Error)
        assert len(mod.payloads) == 1


@pytest.mark.asyncio
async def test_result_line_of_another_client_or_msg_id_is_not_taken() -> None:
    release = asyncio.Event()

    async def sub(x: Exchange) -> None:
        # A result for another client and another msg id first: neither is ours.
        await x.send("OK", "+MQTTSUB: 1,1,0,2", "+MQTTSUB: 0,9,0,2")
        await release.wait()
        await x.module.send("+MQTTSUB: 0,1,0,1")

    async with (
        ScriptedModule({"AT+MQTTSUB=*": sub}) as mod,
        nm.Modem.open(mod.port) as modem,
    ):
        task = asyncio.create_task(modem.client(0).subscribe("t", 1))
        await mod.wait_for("AT+MQTTSUB=*")
        # Answered after the foreign results: once it is back, they have been read.
        assert await asyncio.wait_for(modem.command("AT"), 10.0) == []
        assert not task.done()
        release.set()
        assert await asyncio.wait_for(task, 10.0) == 1


@pytest.mark.asyncio
async def test_command_without_answer_holds_only_its_caller() -> None:
    """A hung command times out; the channel is released for the next one."""
    async with (
        ScriptedModule({"AT+CGMR": never, "AT+CSQ": ["+CSQ: 1,2", "OK"]}) as mod,
        nm.Modem.open(mod.port, command_timeout=0.3) as modem,
    ):
        with pytest.raises(nm.Nm28TimeoutError):
            await modem.command("AT+CGMR")
        assert await asyncio.wait_for(modem.command("AT+CSQ"), 10.0) == ["+CSQ: 1,2"]


@pytest.mark.asyncio
async def test_text_line_urc_during_an_mqtt_command_is_not_its_answer() -> None:
    """A plain text line (no `+NAME:`) while SUB is in flight goes to urcs(); the same kind
    of line is an information line of a command that answers in text (`ATI`)."""

    async def sub(x: Exchange) -> None:
        await x.send("NETWORK BLIP", "+MQTTSUB: 0,1,0,1", "OK")

    async def ati(x: Exchange) -> None:
        await x.send("Yuge NM28", "OK")

    script: Script = {"AT+MQTTSUB=*": sub, "ATI": ati}
    async with ScriptedModule(script) as mod, nm.Modem.open(mod.port) as modem:
        assert await asyncio.wait_for(modem.client(0).subscribe("down", 1), 10.0) == 1
        urcs = await collect(modem.urcs(), 1)
        assert [getattr(u, "text", None) for u in urcs] == ["NETWORK BLIP"]
        assert await asyncio.wait_for(modem.command("ATI"), 10.0) == ["Yuge NM28"]
