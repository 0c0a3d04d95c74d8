"""Engine tests: timeouts and recovery, bad arguments, the publish prompt, big payloads,
queue overflow, port loss and close, echo, start-up sync, secrets, reboots."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import pytest
from support.engine_watch import ReadWatch, started
from support.rig import wait_until
from support.scripted_module import (
    Exchange,
    Handler,
    InTurn,
    Script,
    ScriptedModule,
    collect,
    never,
    recv_urc,
    reply,
)

import nm28_async as nm


def csq_after_first_hang() -> Handler:
    """AT+CSQ: the first one gets no answer at all; later ones answer normally."""
    return InTurn(never, reply("+CSQ: 20,99", "OK"))


# --- timeouts and recovery ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_missing_ok_times_out_and_late_ok_is_not_taken_for_the_next_answer() -> None:
    watch = ReadWatch()
    async with (
        ScriptedModule({"AT+CSQ": csq_after_first_hang()}) as mod,
        nm.Modem.open(mod.port, command_timeout=0.3, opener=watch.open) as modem,
    ):
        started = time.monotonic()
        with pytest.raises(nm.Nm28Error) as timed_out:
            await modem.command("AT+CSQ")
        assert isinstance(timed_out.value, TimeoutError)
        assert time.monotonic() - started > 0.2
        assert "within 0.3 s" in str(timed_out.value)  # its own timeout, not a default
        mark = watch.mark
        await mod.send("OK")  # the stray, late OK of the timed-out command
        await watch.wait_read(b"OK", mark)  # ... read before the next command is asked
        assert modem.statistics.late_finals == 1
        assert await asyncio.wait_for(modem.command("AT+CSQ"), 10.0) == ["+CSQ: 20,99"]
        assert await asyncio.wait_for(modem.command("AT+CSQ"), 10.0) == ["+CSQ: 20,99"]


@pytest.mark.asyncio
async def test_late_ok_arriving_during_the_next_command_is_absorbed() -> None:
    state = {"late_ok_pending": False}
    watch = ReadWatch()

    async def at(x: Exchange) -> None:
        if state["late_ok_pending"]:  # the late OK shows up just before this AT's own
            state["late_ok_pending"] = False
            mark = watch.mark
            await x.module.send("OK")  # the late OK of AT+CGMR (not this AT's final)
            await watch.wait_read(b"OK", mark)  # ... read on its own
        await x.send("OK")

    async def first_hangs(x: Exchange) -> None:
        state["late_ok_pending"] = True

    script: Script = {"AT": at, "AT+CGMR": first_hangs, "AT+CSQ": ["+CSQ: 7,0", "OK"]}
    async with (
        ScriptedModule(script) as mod,
        nm.Modem.open(mod.port, command_timeout=0.3, opener=watch.open) as modem,
    ):
        with pytest.raises(nm.Nm28TimeoutError):
            await modem.command("AT+CGMR")
        assert await asyncio.wait_for(modem.command("AT+CSQ"), 10.0) == ["+CSQ: 7,0"]
        assert await asyncio.wait_for(modem.command("AT+CSQ"), 10.0) == ["+CSQ: 7,0"]
        assert mod.lines[-4:] == ["AT+CGMR", "AT", "AT+CSQ", "AT+CSQ"]


@pytest.mark.asyncio
async def test_missing_result_line_times_out_with_result_timeout() -> None:
    open_ = InTurn(Exchange.ok, reply("OK", "+MQTTOPEN: 0,0"))  # the first: no +MQTTOPEN
    watch = ReadWatch()
    async with (
        ScriptedModule({"AT+MQTTOPEN=*": open_}) as mod,
        nm.Modem.open(
            mod.port, command_timeout=2.0, result_timeout=0.3, opener=watch.open
        ) as modem,
    ):
        client = modem.client(0)
        started = time.monotonic()
        with pytest.raises(nm.Nm28Error) as timed_out:
            await client.open("h", 1883)
        assert isinstance(timed_out.value, TimeoutError)
        assert time.monotonic() - started > 0.2
        assert "no result line within 0.3 s" in str(timed_out.value)
        assert client.state is nm.ClientState.CLOSED
        mark = watch.mark
        await mod.send("+MQTTOPEN: 0,0")  # the result, far too late: nobody awaits it any more
        await watch.wait_read(b"+MQTTOPEN: 0,0", mark)
        await asyncio.wait_for(client.open("h", 1883), 10.0)
        assert modem.client(0).state is nm.ClientState.OPEN


# --- bad arguments -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_bad_arguments_write_nothing() -> None:
    async with ScriptedModule(mqtt="before") as mod, nm.Modem.open(mod.port) as modem:
        c = modem.client(0)
        injected = 'a"\r\nAT+MQTTCLOSE=0'
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: c.subscribe(injected, 1),
            lambda: c.unsubscribe(injected),
            lambda: c.publish(injected, b"x"),
            lambda: c.publish('t",0\rAT+MQTTDISC=0', b"x"),
            lambda: c.connect("id", "user", 'pw"\rAT+MQTTCLOSE=0\r'),
            lambda: c.connect("id\r\nAT", "user", "pw"),
            lambda: c.connect("id", 'us"er', "pw"),
            lambda: c.open('host"\rAT+MQTTCLOSE=1', 1883),
            lambda: c.open("host\x00", 1883),
            lambda: c.open("", 1883),
            lambda: c.open("h" * 128, 1883),
            lambda: c.open("h", 0),
            lambda: c.open("h", 65536),
            lambda: c.subscribe("t", 3),
            lambda: c.subscribe("a/#/b", 0),
            lambda: c.subscribe("", 0),
            lambda: c.publish("t", b""),
            lambda: c.publish("t", b"x" * 2049),
            lambda: c.publish("t", "é" * 1025),  # 2050 bytes in UTF-8
            lambda: c.publish("t/+", b"x"),
            lambda: c.publish("t", b"x", qos=3),
            lambda: c.publish("t", b"x", publish_type=3),
            lambda: c.configure(keepalive=5),
            lambda: c.configure(keepalive=60, retries=11),  # the first is valid: nothing sent
            lambda: c.configure(will=nm.Will('w"\rAT', "m")),
            lambda: c.configure(will=nm.Will("w", 'm"\rAT+MQTTCLOSE=0')),
            lambda: modem.command("AT+CSQ\rAT+MQTTCLOSE=0"),
            lambda: modem.command("AT\n"),
            lambda: modem.command("+MQTTCLOSE=0"),
        ]
        for call in calls:
            with pytest.raises(ValueError, match=r"\w"):
                await call()
        for index in (6, -1):
            with pytest.raises(ValueError, match="client_index"):
                modem.client(index)
        # ... and the modem still works; the module got its command and nothing before it
        # (the line keeps order: anything a refused call wrote would have come first).
        assert await c.subscribe("ok", 1) == 1
        sent = mod.rx_after_sync()
        assert sent.startswith(b"AT+MQTTSUB=0,")
        assert sent.endswith(b',"ok",1\r')
        assert sent.count(b"\r") == 1


# --- the publish prompt ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_no_payload_byte_before_the_prompt() -> None:
    watch = ReadWatch()

    async def slow_prompt(x: Exchange) -> None:
        # The prompt is held back while the engine reads line after line (none of them a
        # prompt): any byte written meanwhile is a violation (checked by the module).
        for line in ("+CEREG: 1,5", "CONNECTING", "+CSQ: 20,99"):
            mark = watch.mark
            await x.module.send(line)
            await watch.wait_read(line.encode(), mark)
        await x.read_payload(int(x.args[6]))
        await x.send(f"+MQTTPUBEX: 0,{x.msg_id},0", "OK")

    async with (
        ScriptedModule({"AT+MQTTPUBEX=*": slow_prompt}) as mod,
        nm.Modem.open(mod.port, opener=watch.open) as modem,
    ):
        assert await asyncio.wait_for(modem.client(0).publish("t", b"0123456789"), 10.0) == 1
        prompt_at = next(t for t, chunk in mod.sent if b"CONNECT\r" in chunk)
        payload_at = next(t for t, chunk in mod.received if b"0123456789" in chunk)
        assert payload_at >= prompt_at
        assert mod.payloads == [('AT+MQTTPUBEX=0,1,0,0,0,"t",10', b"0123456789")]


@pytest.mark.asyncio
@pytest.mark.parametrize("answer", ["ERROR", "+CME ERROR: 50"])
async def test_error_instead_of_prompt_fails_publish_and_writes_nothing(answer: str) -> None:
    async with (
        ScriptedModule({"AT+MQTTPUBEX=*": reply(answer)}, mqtt="before") as mod,
        nm.Modem.open(mod.port) as modem,
    ):
        client = modem.client(0)
        with pytest.raises(nm.CommandError):
            await asyncio.wait_for(client.publish("t", b"secret payload"), 10.0)
        assert await asyncio.wait_for(client.subscribe("s", 1), 10.0) == 1
        # The line keeps order: a payload written after the refusal would come before the SUB.
        publish = b'AT+MQTTPUBEX=0,1,0,0,0,"t",14\r'
        sent = mod.rx_after_sync()
        assert sent.startswith(publish)
        assert sent[len(publish) :].startswith(b"AT+MQTTSUB=0,")
        assert sent[len(publish) :].endswith(b',"s",1\r')
        assert sent.count(b"\r") == 2
        assert mod.payloads == []


@pytest.mark.asyncio
async def test_ctrl_z_can_be_left_out() -> None:
    async def pub(x: Exchange) -> None:
        await x.read_payload(int(x.args[6]), ctrl_z=False)
        await x.send("OK", f"+MQTTPUBEX: 0,{x.msg_id},0")

    async with (
        ScriptedModule({"AT+MQTTPUBEX=*": pub}) as mod,
        nm.Modem.open(mod.port) as modem,
    ):
        await asyncio.wait_for(modem.client(0).publish("t", "ünï", ctrl_z=False), 10.0)
        assert mod.payloads == [('AT+MQTTPUBEX=0,1,0,0,0,"t",5', "ünï".encode())]


# --- 2048 bytes each way -----------------------------------------------------------------------


def tricky_payload() -> bytes:
    head = b'\r\nOK\r\n+MQTTSUB: 0,1,0,1\r\nCONNECT\r\n\x1a\x00,"q",\n\r'
    body = bytes(range(256)) * 8
    return (head + body)[:2048]


@pytest.mark.asyncio
@pytest.mark.parametrize("spaced", [False, True])
async def test_2048_byte_payload_each_way(spaced: bool) -> None:
    payload = tricky_payload()
    assert len(payload) == 2048

    async def pub(x: Exchange) -> None:
        await x.read_payload(int(x.args[6]))
        await x.send(
            recv_urc(1, 77, "down/big", payload, spaced=spaced),
            f"+MQTTPUBEX: 1,{x.msg_id},0",
            "OK",
        )

    async with (
        ScriptedModule({"AT+MQTTPUBEX=*": pub}) as mod,
        nm.Modem.open(mod.port) as modem,
    ):
        client = modem.client(1)
        await asyncio.wait_for(client.publish("up/big", payload, qos=1), 10.0)
        assert mod.payloads == [('AT+MQTTPUBEX=1,1,1,0,0,"up/big",2048', payload)]
        await mod.send(recv_urc(1, 78, "down/big2", payload[::-1], quoted=True), "+CSQ: 1,1")
        got = await collect(client.messages(), 2)
        assert [(m.packet_id, m.topic, m.payload) for m in got] == [
            (77, "down/big", payload),
            (78, "down/big2", payload[::-1]),
        ]
        assert modem.statistics.garbage == 0


# --- queue overflow ----------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("policy", list(nm.Overflow))
async def test_overflow_policy_counts_and_never_blocks_the_reader(policy: nm.Overflow) -> None:
    total = 3000
    flood_done = asyncio.Event()

    async def flood(mod: ScriptedModule) -> None:
        for start in range(0, total, 100):
            chunk = b"".join(
                recv_urc(0, n + 1, "flood", b"%064d" % n) for n in range(start, start + 100)
            )
            await mod.send(chunk)  # waits while the pty is full: the engine reads meanwhile
        flood_done.set()

    async with (
        ScriptedModule(mqtt="after", mqtt_delay=(0.0, 0.02)) as mod,
        nm.Modem.open(mod.port, queue_size=10, overflow=policy) as modem,
    ):
        flooded, other = modem.client(0), modem.client(1)
        mod.spawn(flood(mod))
        started = time.monotonic()
        # While client 0's queue overflows (nobody reads it), client 1 works promptly.
        await asyncio.wait_for(other.open("h", 1883), 10.0)
        assert await asyncio.wait_for(other.subscribe("t", 1), 10.0) == 1
        await asyncio.wait_for(other.publish("t", b"x" * 64), 10.0)
        assert time.monotonic() - started < 10.0
        await asyncio.wait_for(flood_done.wait(), 5.0)
        await wait_until(
            lambda: flooded.dropped_messages + flooded.queued_messages == total, 20, "counted"
        )
        assert flooded.queued_messages == 10
        assert flooded.dropped_messages == total - 10
        if policy is nm.Overflow.FAIL:
            with pytest.raises(nm.QueueOverflowError):
                await collect(flooded.messages())
        got = [message.packet_id for message in await collect(flooded.messages(), 10)]
        if policy is nm.Overflow.DROP_OLDEST:
            assert got == list(range(total - 9, total + 1))
        else:
            assert got == list(range(1, 11))
        assert other.dropped_messages == 0


# --- port lost, modem closed -------------------------------------------------------------------


async def drain_messages(client: nm.MqttClient) -> list[nm.Message]:
    return await collect(client.messages(), timeout=10.0)


async def drain_urcs(modem: nm.Modem) -> list[nm.Urc]:
    return await collect(modem.urcs(), timeout=10.0)


@pytest.mark.asyncio
async def test_port_lost_fails_everything_promptly() -> None:
    async def sub_ok_only(x: Exchange) -> None:
        await x.ok()

    script: Script = {"AT+MQTTSUB=*": sub_ok_only, "AT+CGMR": never}
    async with ScriptedModule(script) as mod, nm.Modem.open(mod.port) as modem:
        awaiting_result = asyncio.create_task(modem.client(0).subscribe("t", 1))
        await mod.wait_for("AT+MQTTSUB=*")
        awaiting_final = asyncio.create_task(modem.command("AT+CGMR"))
        await mod.wait_for("AT+CGMR")
        messages = await started(drain_messages(modem.client(0)))  # waiting for a message
        urcs = await started(drain_urcs(modem))
        began = time.monotonic()
        mod.close_port()
        for task in (awaiting_result, awaiting_final, messages, urcs):
            with pytest.raises(nm.Nm28Error):
                await asyncio.wait_for(task, 10.0)
        assert time.monotonic() - began < 10.0
        assert isinstance(awaiting_final.exception(), nm.PortLostError)
        assert modem.closed
        with pytest.raises(nm.Nm28Error):
            await modem.command("AT")
        with pytest.raises(nm.Nm28Error):
            await modem.client(1).open("h", 1)


@pytest.mark.asyncio
async def test_closing_the_modem_fails_pending_calls_and_ends_iterators() -> None:
    async def sub_ok_only(x: Exchange) -> None:
        await x.ok()

    script: Script = {"AT+MQTTSUB=*": sub_ok_only, "AT+CGMR": never}
    async with ScriptedModule(script) as mod:
        async with nm.Modem.open(mod.port) as modem:
            awaiting_result = asyncio.create_task(modem.client(0).subscribe("t", 1))
            await mod.wait_for("AT+MQTTSUB=*")
            awaiting_final = asyncio.create_task(modem.command("AT+CGMR"))
            await mod.wait_for("AT+CGMR")
            queued = asyncio.create_task(modem.client(3).open("h", 1883))  # waits for the channel
            await mod.send(recv_urc(2, 1, "t", b"before close"))
            await wait_until(lambda: modem.client(2).queued_messages == 1, 20, "one queued")
            messages = await started(drain_messages(modem.client(2)))
            idle = await started(drain_messages(modem.client(5)))  # waiting for a message
            urcs = await started(drain_urcs(modem))
            began = time.monotonic()
        for task in (awaiting_result, awaiting_final, queued):
            with pytest.raises(nm.ModemClosedError):
                await asyncio.wait_for(task, 10.0)
        assert [m.payload for m in await asyncio.wait_for(messages, 10.0)] == [b"before close"]
        assert await asyncio.wait_for(idle, 10.0) == []
        assert await asyncio.wait_for(urcs, 10.0) == []
        assert time.monotonic() - began < 10.0
        assert modem.closed
        with pytest.raises(nm.ModemClosedError):
            await modem.command("AT")
        assert await drain_messages(modem.client(0)) == []
        assert "AT+MQTTOPEN=3" not in " ".join(mod.lines)


# --- echo and start-up --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_echo_on_is_tolerated_when_ate0_fails() -> None:
    script: Script = {"ATE0": reply("ERROR"), "AT+CSQ": ["+CSQ: 20,99", "OK"]}
    async with (
        ScriptedModule(script, mqtt="after", mqtt_delay=(0.01, 0.03)) as mod,
        nm.Modem.open(mod.port, command_timeout=1.0) as modem,
    ):
        assert mod.echo
        client = modem.client(0)
        assert await modem.command("AT+CSQ") == ["+CSQ: 20,99"]
        await client.open("h", 1883)
        await client.connect("id", "u", "p")
        assert await client.subscribe("t", 1) == 1
        assert await client.publish("t", b"AT+CSQ\r\nOK") == 2
        assert await modem.command("AT") == []
        assert mod.payloads[-1][1] == b"AT+CSQ\r\nOK"
        assert modem.statistics.garbage == 0
        assert b"AT+CSQ\r" in b"".join(chunk for _, chunk in mod.sent)  # it did echo


@pytest.mark.asyncio
async def test_sync_retries_when_the_first_at_gets_no_answer() -> None:
    at = InTurn(never, Exchange.ok)  # the first AT gets no answer, later ones OK
    async with (
        ScriptedModule({"AT": at, "AT+CSQ": ["+CSQ: 3,3", "OK"]}) as mod,
        nm.Modem.open(mod.port, command_timeout=0.3) as modem,
    ):
        ats = at.calls
        assert ats >= 2
        assert mod.lines[: ats + 1] == ["AT"] * ats + ["ATE0"]
        assert await modem.command("AT+CSQ") == ["+CSQ: 3,3"]


@pytest.mark.asyncio
async def test_sync_gives_up_with_a_timeout_error() -> None:
    async with ScriptedModule({"AT": never}) as mod:
        started = time.monotonic()
        with pytest.raises(nm.Nm28Error) as failed:
            async with nm.Modem.open(mod.port, command_timeout=0.2, sync_attempts=2):
                pass
        assert isinstance(failed.value, TimeoutError)
        assert time.monotonic() - started < 10.0
        assert mod.lines == ["AT", "AT"]


# --- secrets -----------------------------------------------------------------------------------

PASSWORD = "Tr0ub4dor&3-s3cret"


@pytest.mark.asyncio
async def test_password_appears_in_no_log_repr_or_error(caplog: pytest.LogCaptureFixture) -> None:
    async def bad_password(x: Exchange) -> None:
        await x.cme("bad password")

    conn = InTurn(
        reply("OK", "+MQTTCONN: 0,0,0"),
        bad_password,
        reply("+MQTTCONN: 0,0,4", "OK"),
        never,  # the fourth gets no answer at all: a timeout
    )
    # ATE0 fails, so echo stays on: the module echoes the password back too.
    script: Script = {"ATE0": reply("ERROR"), "AT+MQTTCONN=*": conn}
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    async with ScriptedModule(script) as mod:
        # result_timeout bounds the fourth CONN's final code too (a network-bound command).
        async with nm.Modem.open(mod.port, command_timeout=0.3, result_timeout=0.5) as modem:
            client = modem.client(0)
            await client.connect("dev", "user", PASSWORD)
            for _ in range(3):
                try:
                    await client.connect("dev", "user", PASSWORD)
                except nm.Nm28Error as exc:
                    errors.append(exc)
            reprs = [repr(modem), repr(client), str(modem), str(client)]
        assert conn.calls == 4
        assert PASSWORD.encode() in mod.rx  # it did go to the module, and was echoed
    assert [type(e) for e in errors] == [nm.CommandError, nm.ConnectError, nm.Nm28TimeoutError]
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + reprs
    texts += [str(arg) for e in errors for arg in e.args]
    texts += [record.getMessage() for record in caplog.records]
    texts += [caplog.text]
    assert any("MQTTCONN" in record.getMessage() for record in caplog.records)
    for text in texts:
        assert PASSWORD not in text


# --- reboot ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_reboot_banner_fails_the_command_in_flight() -> None:
    async def reboot(x: Exchange) -> None:
        x.module.echo = True  # a rebooted module has echo on again
        await x.send("RDY")

    async def sub_ok_only(x: Exchange) -> None:
        await x.ok()

    script: Script = {
        "AT+CFUN=1,1": reboot,
        "AT+MQTTSUB=*": sub_ok_only,
        "AT+CSQ": ["+CSQ: 9,9", "OK"],
    }
    async with (
        ScriptedModule(script, mqtt="before") as mod,
        nm.Modem.open(mod.port, command_timeout=30.0) as modem,
    ):
        client = modem.client(0)
        await client.open("h", 1883)
        await client.connect("id")
        assert client.state is nm.ClientState.CONNECTED
        awaiting_result = asyncio.create_task(client.subscribe("t", 1))
        await mod.wait_for("AT+MQTTSUB=*")
        started = time.monotonic()
        with pytest.raises(nm.ModuleRebootedError):
            await modem.command("AT+CFUN=1,1")
        with pytest.raises(nm.ModuleRebootedError):
            await asyncio.wait_for(awaiting_result, 10.0)
        assert time.monotonic() - started < 10.0
        assert isinstance(awaiting_result.exception(), nm.Nm28Error)
        assert modem.client(0).state is nm.ClientState.CLOSED
        assert modem.reboots == 1
        # The driver carries on (echo is back on in the module).
        assert await asyncio.wait_for(modem.command("AT+CSQ"), 10.0) == ["+CSQ: 9,9"]


# --- noise ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_garbage_on_the_line_does_not_disturb_commands() -> None:
    async def csq(x: Exchange) -> None:
        await x.send(b"\xff\xfe\x00noise\r\n", "+CSQ: 1,1", b"\x80\x81\x82\r\n", "OK")

    async with (
        ScriptedModule({"AT+CSQ": csq}, mqtt="after", mqtt_delay=(0.01, 0.02)) as mod,
        nm.Modem.open(mod.port) as modem,
    ):
        await mod.send(b"\x00\x01\x02\xff\r\n", b"x" * 20000 + b"\r\n")  # binary, overlong
        assert await asyncio.wait_for(modem.command("AT+CSQ"), 10.0) == ["+CSQ: 1,1"]
        client = modem.client(0)
        await asyncio.wait_for(client.open("h", 1883), 10.0)
        await mod.send(b"\xc3\x28\r\n", recv_urc(0, 5, "t", b"still in sync"))
        assert [m.payload for m in await collect(client.messages(), 1)] == [b"still in sync"]
        assert modem.statistics.garbage >= 4


@pytest.mark.asyncio
@pytest.mark.parametrize("port", ["/dev/nm28-does-not-exist", "socket://127.0.0.1:1"])
async def test_a_port_that_cannot_be_opened_is_a_port_lost_error(port: str) -> None:
    with pytest.raises(nm.PortLostError, match="cannot open"):
        async with nm.Modem.open(port):
            pytest.fail("opened a port that does not exist")
