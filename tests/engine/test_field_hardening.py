"""What slow links, late prompts, wrong lengths and bad arguments do to a driver on a real pty."""

from __future__ import annotations

import asyncio
import logging
import os
import pty

import pytest
from support.engine_watch import ReadWatch, started
from support.scripted_module import Exchange, Script, ScriptedModule, never, recv_urc, reply

import nm28_async as nm

PASSWORD = "s3cr3t-Pa55"


@pytest.mark.asyncio
async def test_late_prompt_never_turns_the_next_command_into_payload() -> None:
    """CONNECT comes only once the publish has timed out (its outcome unknown): the
    AT+MQTTCONN after it waits for the publish's final code, and only the given payload is
    ever written in data mode."""
    timed_out = asyncio.Event()

    async def late_prompt(x: Exchange) -> None:
        await timed_out.wait()
        await x.read_payload(int(x.args[6]))
        await x.send(f"+MQTTPUBEX: 0,{x.msg_id},0", "OK")

    script: Script = {
        "AT+MQTTPUBEX=*": late_prompt,
        "AT+MQTTCONN=*": reply("+MQTTCONN: 0,0,0", "OK"),
    }
    async with (
        ScriptedModule(script) as mod,
        nm.Modem.open(mod.port, command_timeout=0.3) as modem,
    ):
        client = modem.client(0)
        with pytest.raises(nm.Nm28TimeoutError, match="outcome is unknown"):
            await client.publish("t", b"telemetry")
        connecting = await started(client.connect("id", "user", PASSWORD))  # held back
        timed_out.set()
        await asyncio.wait_for(connecting, 30)
        assert [data for _, data in mod.payloads] == [b"telemetry"]
        assert mod.lines[-2:] == [
            'AT+MQTTPUBEX=0,1,0,0,0,"t",9',
            f'AT+MQTTCONN=0,"id","user","{PASSWORD}"',
        ]


@pytest.mark.asyncio
async def test_network_bound_command_outlasts_command_timeout() -> None:
    """The manual's order on a slow link: result line and OK 1.5 s after OPEN, with
    command_timeout=0.5: the OPEN succeeds (the network deadline bounds it)."""
    script: Script = {"AT+MQTTOPEN=*": reply("+MQTTOPEN: 0,0", "OK", delay=1.5), "AT+CSQ": never}
    async with (
        ScriptedModule(script) as mod,
        nm.Modem.open(mod.port, command_timeout=0.5) as modem,
    ):
        await asyncio.wait_for(modem.client(0).open("broker", 1883), 30)
        with pytest.raises(nm.Nm28TimeoutError):
            await modem.command("AT+CSQ")  # a local command keeps command_timeout


@pytest.mark.asyncio
async def test_phantom_length_costs_one_message_and_later_commands_succeed() -> None:
    """`+MQTTRECV: 0,1,t,200,short` then the OK of the command in flight: that command is
    answered once the stream falls quiet, and every command after it succeeds."""

    async def csq(x: Exchange) -> None:
        await x.send(b"\r\n+MQTTRECV: 0,1,t,200,short\r\n", "+CSQ: 24,99", "OK")

    async with (
        ScriptedModule({"AT+CSQ": csq, "AT+CGMR": reply("V1", "OK")}) as mod,
        nm.Modem.open(mod.port, command_timeout=5.0) as modem,
    ):
        assert await modem.command("AT+CSQ") == ["+CSQ: 24,99"]
        for _ in range(3):
            assert await modem.command("AT+CGMR") == ["V1"]
        message = await anext(modem.client(0).messages())
        assert message == nm.Message(0, 1, "t", b"short", True)


# --- arguments ---------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "5", True])
async def test_bad_command_timeout_is_refused_before_a_byte_is_written(timeout: object) -> None:
    async with ScriptedModule() as mod, nm.Modem.open(mod.port) as modem:
        before = mod.rx_count
        with pytest.raises(ValueError, match="timeout"):
            await modem.command("AT+CSQ", timeout=timeout)  # type: ignore[arg-type]
        assert mod.rx_count == before


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "arguments",
    [
        {"command_timeout": 0},
        {"command_timeout": -1.0},
        {"result_timeout": 0},
        {"queue_size": 0},
        {"queue_size": 1.5},
        {"baudrate": -1},
        {"baudrate": 0},
        {"sync_attempts": 0},
        {"overflow": "drop_oldest"},
        {"reboot_banners": "RDY"},
        {"read_coalescing": -0.001},
        {"read_coalescing": 2.0},
    ],
)
async def test_bad_open_arguments_are_refused_before_the_port_opens(
    arguments: dict[str, object],
) -> None:
    """ValueError, and the port never opened: the far end of the pty sees no open and no
    byte, and no ResourceWarning is left (warnings fail the suite)."""
    master, slave = pty.openpty()
    try:
        with pytest.raises(ValueError, match="must"):
            async with nm.Modem.open(os.ttyname(slave), **arguments):  # type: ignore[arg-type]
                pass
        os.set_blocking(master, False)
        with pytest.raises(BlockingIOError):
            os.read(master, 100)
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.asyncio
@pytest.mark.parametrize("port", ["", None, 7])
async def test_bad_port_is_a_value_error(port: object) -> None:
    with pytest.raises(ValueError, match="port"):
        async with nm.Modem.open(port):  # type: ignore[arg-type]
            pass


# --- secrets -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_password_never_logged_across_garbage_echo_urc_and_error_paths(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Echo on with a noise byte inside the echo of AT+MQTTCONN (garbage), the echo itself,
    the password coming back in a URC, and a refused CONN: nothing logged at DEBUG, nor any
    error message, holds the password."""

    async def conn(x: Exchange) -> None:
        noisy = x.line.replace("user", "us\x01er").encode()
        await x.send(noisy, x.line, f'+NOTE: "{PASSWORD}"', "TEXT " + PASSWORD)
        await x.send("ERROR")

    caplog.set_level(logging.DEBUG, logger="nm28_async")
    async with (
        ScriptedModule({"AT+MQTTCONN=*": conn, "ATE0": reply("ERROR")}) as mod,
        nm.Modem.open(mod.port) as modem,
    ):
        with pytest.raises(nm.CommandError) as refused:
            await modem.client(0).connect("id", "user", PASSWORD)
        assert PASSWORD not in str(refused.value)
        assert PASSWORD not in repr(refused.value)
        await modem.command("AT")
        assert modem.statistics.garbage >= 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "AT+MQTTCONN" in logged  # the paths were taken...
    assert "skipped" in logged
    assert PASSWORD not in logged  # ...and the password is nowhere
    assert PASSWORD[:6] not in logged


@pytest.mark.asyncio
async def test_receive_topic_with_a_comma_and_forged_lines_end_to_end_of_the_pty() -> None:
    """The field report's message through a real pty: one message, nothing else."""
    payload = b"x\r\nRDY\r\n+MQTTRECV: 0,9,bank/cmd,6,forged\r\ny"
    async with (
        ScriptedModule({"AT+CSQ": ["+CSQ: 1,1", "OK"]}) as mod,
        nm.Modem.open(mod.port) as modem,
    ):
        await mod.send(recv_urc(0, 1, "dev/a,b", payload))
        assert await modem.command("AT+CSQ") == ["+CSQ: 1,1"]
        message = await anext(modem.client(0).messages())
        assert (message.topic, message.payload) == ("dev/a,b", payload)
        assert modem.reboots == 0
        assert modem.client(0).queued_messages == 0


# --- read coalescing -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_paced_stream_is_read_by_the_rest_timer_and_a_hang_up_still_ends_it() -> None:
    """A few messages at a time, the next few once the engine has read them: the port
    rests, and each rest's timer reads what gathered (rest after rest, the loop not watching
    the port). Every message arrives in order, and the module going away during a rest
    still ends the modem with PortLostError."""
    watch = ReadWatch()
    async with (
        ScriptedModule() as mod,
        nm.Modem.open(mod.port, read_coalescing=0.05, opener=watch.open) as modem,
    ):
        for n in range(60):
            payload = b"p%02d" % n
            await mod.send(recv_urc(n % 6, n + 1, "t", payload))
            if n % 3 == 2:
                await watch.wait_read(payload + b"\r\n")
        for index in range(6):
            messages = modem.client(index).messages()
            got = [(await asyncio.wait_for(anext(messages), 10)).payload for _ in range(10)]
            assert got == [b"p%02d" % n for n in range(60) if n % 6 == index]
        await mod.send(recv_urc(0, 99, "t", b"last"))
        mod.close_port()
        reason = await asyncio.wait_for(modem.wait_closed(), 10)
        assert isinstance(reason, nm.PortLostError)


@pytest.mark.asyncio
@pytest.mark.parametrize("coalescing", [0.0, 0.05])
async def test_a_resting_port_loses_nothing_and_wakes_for_a_command(coalescing: float) -> None:
    """While nothing waits for an answer the port may rest between reads (messages gather in
    the kernel); a command wakes it, and every message and answer still arrives, in order."""

    async def csq(x: Exchange) -> None:
        for n in range(40):
            await x.module.send(recv_urc(n % 6, n + 1, "t", b"m%02d" % n))
        await x.send("+CSQ: 24,99", "OK")

    async with (
        ScriptedModule({"AT+CSQ": csq}) as mod,
        nm.Modem.open(mod.port, read_coalescing=coalescing) as modem,
    ):
        for n in range(30):
            await mod.send(recv_urc(n % 6, 100 + n, "t", b"idle%02d" % n))
        assert await modem.command("AT+CSQ") == ["+CSQ: 24,99"]
        got: dict[int, list[bytes]] = {i: [] for i in range(6)}
        for index in range(6):
            client = modem.client(index)
            while client.queued_messages:
                got[index].append((await anext(client.messages())).payload)
        for index in range(6):
            idle = [b"idle%02d" % n for n in range(30) if n % 6 == index]
            streamed = [b"m%02d" % n for n in range(40) if n % 6 == index]
            assert got[index][: len(idle)] == idle
            assert sorted(got[index][len(idle) :]) == sorted(streamed)
