"""`modem.network` on an in-memory line: what status() asks and reads, a command the
firmware lacks, an unreadable answer, registration changes and waiting for registration."""

from __future__ import annotations

import asyncio
import logging

import pytest
from support.answering_line import AnsweringModule, answering_modem

import nm28_async as nm

LIMIT = 30.0

REGISTERED = {
    "AT+C5GREG?": '+C5GREG: 2,1,"1A2B","01C2D3E4",11\r\n\r\nOK',
    "AT+CEREG?": '+CEREG: 2,1,"1A2B","01C2D3E4",7\r\n\r\nOK',
    "AT+CREG?": "+CREG: 0,4\r\n\r\nOK",
    "AT+COPS?": '+COPS: 0,0,"Yuge Mobile",11\r\n\r\nOK',
    "AT+CSQ": "+CSQ: 20,99\r\n\r\nOK",
    "AT+CESQ": "+CESQ: 99,99,255,255,20,50,255,255,255\r\n\r\nOK",
    "AT+CGATT?": "+CGATT: 1\r\n\r\nOK",
    "AT+CGACT?": "+CGACT: 1,1\r\n\r\nOK",
    "AT+CGPADDR": '+CGPADDR: 1,"10.1.2.3"\r\n\r\nOK',
    "AT+C5GREG=2": "OK",
    "AT+CEREG=2": "OK",
}
SEARCHING = {
    **REGISTERED,
    "AT+C5GREG?": "+C5GREG: 2,2\r\n\r\nOK",
    "AT+CEREG?": "+CEREG: 2,2\r\n\r\nOK",
}


@pytest.mark.asyncio
async def test_status_reads_every_field_from_the_commands_gateway_md_names() -> None:
    module = AnsweringModule(dict(REGISTERED))
    async with answering_modem(module) as modem:
        status = await asyncio.wait_for(modem.network.status(), LIMIT)
    assert status.registered
    assert status.registration is nm.Registration.HOME
    assert status.technology is nm.Technology.NR5G_SA
    assert status.operator == "Yuge Mobile"
    assert status.signal == nm.Signal(rssi_dbm=-73.0, rsrp_dbm=-91.0, rsrq_db=-10.0)
    assert (status.attached, status.pdp_active, status.ip) == (True, True, "10.1.2.3")
    assert status.cell == nm.Cell("1A2B", "01C2D3E4", nm.Technology.NR5G_SA)
    assert [c for c in module.asked if c not in ("AT", "ATE0")] == [
        "AT+C5GREG?", "AT+CEREG?", "AT+CREG?", "AT+COPS?", "AT+CSQ", "AT+CESQ",
        "AT+CGATT?", "AT+CGACT?", "AT+CGPADDR",
    ]  # fmt: skip


@pytest.mark.asyncio
async def test_a_command_the_firmware_lacks_leaves_its_fields_none() -> None:
    answers = dict(REGISTERED)
    for lacking in ("AT+C5GREG?", "AT+CESQ", "AT+CGPADDR", "AT+COPS?"):
        del answers[lacking]  # answered ERROR
    module = AnsweringModule(answers)
    async with answering_modem(module) as modem:
        status = await asyncio.wait_for(modem.network.status(), LIMIT)
    assert status.registration is nm.Registration.HOME  # from +CEREG
    assert status.technology is nm.Technology.LTE  # the registration's AcT, no +COPS
    assert status.operator is None
    assert status.signal == nm.Signal(rssi_dbm=-73.0)
    assert status.ip is None
    assert status.domains == (("CEREG", nm.Registration.HOME), ("CREG", nm.Registration.UNKNOWN))


@pytest.mark.asyncio
async def test_an_unreadable_answer_is_logged_and_loses_only_its_field(
    caplog: pytest.LogCaptureFixture,
) -> None:
    module = AnsweringModule({**REGISTERED, "AT+CSQ": "+CSQ: twenty,99\r\n\r\nOK"})
    async with answering_modem(module) as modem:
        with caplog.at_level(logging.WARNING, "nm28_async"):
            status = await asyncio.wait_for(modem.network.status(), LIMIT)
        assert status.signal.rssi_dbm is None
        assert status.signal.rsrp_dbm == -91.0
        assert "unreadable answer to AT+CSQ" in caplog.text
        # the line stays in step: the next command gets its own answer
        assert await asyncio.wait_for(modem.command("AT+CGATT?"), LIMIT) == ["+CGATT: 1"]


@pytest.mark.asyncio
async def test_changes_turn_the_urcs_on_and_yield_each_registration_change() -> None:
    module = AnsweringModule(dict(REGISTERED))
    async with answering_modem(module) as modem:
        changes = modem.network.changes()
        first = asyncio.ensure_future(anext(changes))
        await asyncio.wait_for(module.wait_asked("AT+CEREG=2"), LIMIT)
        assert "AT+C5GREG=2" in module.asked
        module.send("+CEREG: 0")
        module.send('+C5GREG: 5,"00C3","0000ABCD",11')
        lost = await asyncio.wait_for(first, LIMIT)
        back = await asyncio.wait_for(anext(changes), LIMIT)
        await changes.aclose()
    assert (lost.domain, lost.registration) == ("CEREG", nm.Registration.NOT_REGISTERED)
    assert (back.domain, back.registration) == ("C5GREG", nm.Registration.ROAMING)
    assert back.cell == nm.Cell("00C3", "0000ABCD", nm.Technology.NR5G_SA)


@pytest.mark.asyncio
async def test_wait_registered_is_woken_by_the_registration_urc() -> None:
    answers = dict(SEARCHING)
    module = AnsweringModule(answers)
    async with answering_modem(module) as modem:
        waiting = asyncio.create_task(modem.network.wait_registered(timeout=LIMIT))
        await asyncio.wait_for(module.wait_asked("AT+CEREG?"), LIMIT)
        assert not waiting.done()
        answers.update(REGISTERED)  # coverage comes back: the module says so
        module.send('+CEREG: 1,"1A2B","01C2D3E4",7')
        status = await asyncio.wait_for(waiting, LIMIT)
    assert status.registered
    assert module.asked.count("AT+CEREG?") == 2  # read, woken, read: no poll in between


@pytest.mark.asyncio
async def test_wait_registered_times_out_and_checks_its_timeout() -> None:
    module = AnsweringModule(dict(SEARCHING))
    async with answering_modem(module) as modem:
        with pytest.raises(nm.Nm28TimeoutError, match=r"did not register within 0\.3 s"):
            await modem.network.wait_registered(timeout=0.3)
        with pytest.raises(ValueError, match="timeout"):
            await modem.network.wait_registered(timeout=-1)


def test_a_registration_urc_that_does_not_read_is_no_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from nm28_async.network.monitor import registration_change

    with caplog.at_level(logging.WARNING, "nm28_async"):
        assert registration_change(nm.ResultLine("CEREG", ("x",), "+CEREG: x")) is None
    assert "unreadable registration URC" in caplog.text
    assert registration_change(nm.ResultLine("MQTTSTAT", ("0", "1"), "+MQTTSTAT: 0,1")) is None
