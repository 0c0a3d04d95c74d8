"""The virtual NM28's radio knobs against a real broker, read as the bytes the module writes:
coverage, signal, a denied registration, a dropped PDP context, the radio cycled, a wedged
MQTT stack and a reset. Every wait is for an event, with a generous ceiling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import serial_asyncio
from support.brokers import BrokerInfo, start_subscriber
from support.cli import start_sim, stop
from support.raw_host import RawHost

from nm28_async.protocol.network import RegistrationStat
from nm28_async.sim import VirtualModem
from nm28_async.testing import Nm28Sim

OPEN_1 = 'AT+MQTTOPEN=1,"mqtt.ctwing.cn",1883'


@asynccontextmanager
async def attached(broker: BrokerInfo, **knobs: Any) -> AsyncIterator[tuple[VirtualModem, RawHost]]:
    """A sim with ``knobs`` and a raw host on its pty, echo off."""
    async with VirtualModem(broker.url, echo=False, **knobs) as sim:
        host = await RawHost.open_pty(sim)
        try:
            yield sim, host
        finally:
            await host.close()


@pytest.mark.asyncio
async def test_coverage_lost_drops_the_links_as_a_broker_loss_and_regained_registers(
    broker: BrokerInfo,
) -> None:
    async with attached(broker, link_lost_urc=True) as (sim, host):
        assert await host.command("AT+CEREG=2") == ["OK"]
        assert await host.command("AT+CEREG?") == ['+CEREG: 2,1,"1A2B","01C2D3E4",11', "OK"]
        will = 'AT+MQTTCFG="will",0,1,1,0,"radio/will","gone"'
        assert await host.command(will) == ["OK"]
        await host.open_and_connect(0, "radio-coverage")
        wills = await start_subscriber(broker, "radio/will")
        try:
            sim.set_coverage(False)
            # the registration URC, then the link lost under the connected client
            assert await host.read_until(b"\r\n+CEREG: 2\r\n")
            assert await host.read_until(b"\r\n+MQTTSTAT: 0,1\r\n")
            (message,) = await wills.messages()  # the broker lost the client: its will
            assert message.payload == b"gone"
        finally:
            await wills.close()
        assert await host.command("AT+MQTTCONN?") == [
            *(f"+MQTTCONN: {i},0" for i in range(6)),
            "OK",
        ]
        assert await host.command(OPEN_1) == ["+MQTTOPEN:1,3", "OK"]  # no PDP context
        assert await host.command("AT+CSQ") == ["+CSQ: 99,99", "OK"]
        assert await host.command("AT+COPS?") == ["+COPS: 0", "OK"]
        assert await host.command("AT+CGACT?") == ["+CGACT: 1,0", "OK"]
        sim.set_coverage(True)
        assert await host.read_until(b'\r\n+CEREG: 1,"1A2B","01C2D3E4",11\r\n')
        assert await host.command(OPEN_1) == ["+MQTTOPEN:1,0", "OK"]
        # the dropped client's slot stays open until the host closes it, as on a broker loss
        assert await host.command('AT+MQTTOPEN=0,"mqtt.ctwing.cn",1883') == [
            "+MQTTOPEN:0,2",
            "OK",
        ]
        assert await host.command("AT+MQTTCLOSE=0") == ["+MQTTCLOSE:0,0", "OK"]
        await host.open_and_connect(0, "radio-coverage")


@pytest.mark.asyncio
async def test_with_n_0_a_coverage_loss_prints_nothing(broker: BrokerInfo) -> None:
    async with attached(broker) as (sim, host):
        sim.set_coverage(False)
        assert await host.command("AT+CEREG?") == ["+CEREG: 0,2", "OK"]  # no URC came first
        assert await host.command("AT+C5GREG?") == ["+C5GREG: 0,2", "OK"]


@pytest.mark.asyncio
async def test_signal_values_as_csq_and_cesq_scale_them(broker: BrokerInfo) -> None:
    async with attached(broker) as (sim, host):
        assert await host.command("AT+CSQ") == ["+CSQ: 24,99", "OK"]
        sim.set_signal(rssi_dbm=-85, rsrp_dbm=-100, rsrq_db=-12, sinr_db=3)
        assert await host.command("AT+CSQ") == ["+CSQ: 14,99", "OK"]
        assert await host.command("AT+CESQ") == ["+CESQ: 99,99,255,255,255,255,63,57,53", "OK"]
        sim.set_signal(rssi_dbm=-85)
        assert await host.command("AT+CESQ") == ["+CESQ: 99,99,255,255,255,255,255,255,255", "OK"]


@pytest.mark.asyncio
async def test_a_denied_registration_and_its_cause(broker: BrokerInfo) -> None:
    async with attached(broker) as (sim, host):
        assert await host.command("AT+CEREG=3") == ["OK"]
        await host.open_and_connect(0, "radio-denied")
        sim.set_registration(RegistrationStat.DENIED, reject_cause=15)
        assert await host.read_until(b'\r\n+CEREG: 3,"1A2B","01C2D3E4",11,0,15\r\n')
        assert await host.command("AT+MQTTCONN?") == [
            *(f"+MQTTCONN: {i},0" for i in range(6)),
            "OK",
        ]
        assert await host.command(OPEN_1) == ["+MQTTOPEN:1,3", "OK"]
        sim.set_registration(RegistrationStat.HOME)
        assert await host.read_until(b'\r\n+CEREG: 1,"1A2B","01C2D3E4",11\r\n')
        assert await host.command(OPEN_1) == ["+MQTTOPEN:1,0", "OK"]


@pytest.mark.asyncio
async def test_a_pdp_context_the_network_dropped_comes_back_with_cgact(
    broker: BrokerInfo,
) -> None:
    async with attached(broker) as (sim, host):
        await host.open_and_connect(0, "radio-pdp")
        sim.drop_pdp()
        assert await host.command("AT+CGACT?") == ["+CGACT: 1,0", "OK"]
        assert await host.command("AT+CGPADDR") == ["+CGPADDR: 1", "OK"]
        assert await host.command("AT+MQTTCONN?") == [
            *(f"+MQTTCONN: {i},0" for i in range(6)),
            "OK",
        ]
        assert await host.command("AT+CEREG?") == ["+CEREG: 0,1", "OK"]  # still registered
        assert await host.command(OPEN_1) == ["+MQTTOPEN:1,3", "OK"]
        assert await host.command(OPEN_1) == ["+MQTTOPEN:1,3", "OK"]  # until reactivated
        assert await host.command("AT+CGACT=1,1") == ["OK"]
        assert await host.command("AT+CGPADDR") == ['+CGPADDR: 1,"10.0.0.2"', "OK"]
        assert await host.command(OPEN_1) == ["+MQTTOPEN:1,0", "OK"]


@pytest.mark.asyncio
async def test_radio_off_and_on_again(broker: BrokerInfo) -> None:
    async with attached(broker) as (_sim, host):
        assert await host.command("AT+CEREG=1") == ["OK"]
        await host.open_and_connect(0, "radio-cfun")
        assert await host.command("AT+CFUN=0") == ["OK"]
        assert await host.read_until(b"\r\n+CEREG: 0\r\n")
        assert await host.command("AT+CFUN?") == ["+CFUN: 0", "OK"]
        assert (await host.command("AT+MQTTCONN?"))[0] == "+MQTTCONN: 0,0"
        assert await host.command(OPEN_1) == ["+MQTTOPEN:1,3", "OK"]
        assert await host.command("AT+CFUN=1") == ["OK"]
        assert await host.read_until(b"\r\n+CEREG: 2\r\n")  # searching
        assert await host.read_until(b"\r\n+CEREG: 1\r\n")  # registered, a moment later
        assert await host.command(OPEN_1) == ["+MQTTOPEN:1,0", "OK"]


@pytest.mark.asyncio
async def test_a_wedged_module_answers_error_to_mqtt_until_the_radio_cycles(
    broker: BrokerInfo,
) -> None:
    async with attached(broker) as (sim, host):
        sim.wedge()
        assert await host.command(OPEN_1) == ["ERROR"]
        assert await host.command("AT+MQTTCONN?") == ["ERROR"]
        assert await host.command("AT+MQTTCFG=?") == ["ERROR"]
        assert await host.command("AT") == ["OK"]  # the module itself answers
        assert await host.command("AT+CSQ") == ["+CSQ: 24,99", "OK"]
        assert await host.command("AT+CFUN=1") == ["OK"]  # on already: no cycle
        assert await host.command(OPEN_1) == ["ERROR"]
        assert await host.command("AT+CFUN=0") == ["OK"]
        assert await host.command(OPEN_1) == ["ERROR"]
        assert await host.command("AT+CFUN=1") == ["OK"]
        assert await host.command("AT+MQTTCONN?") == [
            *(f"+MQTTCONN: {i},0" for i in range(6)),
            "OK",
        ]


@pytest.mark.asyncio
async def test_cfun_1_1_resets_like_a_reboot(broker: BrokerInfo) -> None:
    async with attached(broker, banner="+SYSSTART") as (sim, host):
        assert await host.command("AT+CEREG=2") == ["OK"]
        await host.open_and_connect(0, "radio-reset")
        sim.wedge()
        before = sim.commands_received["AT+CFUN="]
        assert await host.command("AT+CFUN=1,1") == ["OK"]
        assert await host.read_until(b"\r\n+SYSSTART\r\n")
        assert sim.commands_received["AT+CFUN="] == before + 1
        # power-on state: URC modes 0, no client open, the wedge gone
        assert await host.command("AT+CEREG?") == ["+CEREG: 0,1", "OK"]
        assert await host.command("AT+MQTTOPEN?") == ["OK"]
        await host.open_and_connect(0, "radio-reset")


@pytest.mark.asyncio
async def test_coverage_comes_and_goes_on_an_interval(broker: BrokerInfo) -> None:
    async with attached(broker, coverage_drop_interval=0.2, coverage_drop_duration=0.2) as (
        _sim,
        host,
    ):
        assert await host.command("AT+CEREG=1") == ["OK"]
        for _ in range(2):
            assert await host.read_until(b"\r\n+CEREG: 2\r\n")
            assert await host.read_until(b"\r\n+CEREG: 1\r\n")


def test_outage_knobs_must_be_positive() -> None:
    with pytest.raises(ValueError, match="coverage_drop_duration"):
        VirtualModem(coverage_drop_interval=1, coverage_drop_duration=0)
    with pytest.raises(ValueError, match="coverage_drop_interval"):
        VirtualModem(coverage_drop_interval=-1)


@pytest.mark.asyncio
async def test_nm28_sim_loses_coverage_on_an_interval() -> None:
    proc, where = await start_sim(
        "--tcp", "127.0.0.1:0", "--coverage-drop-interval", "0.2",
        "--coverage-drop-duration", "0.2", "--no-echo",
    )  # fmt: skip
    try:
        host, port = where.rsplit(":", 1)
        raw = await RawHost.connect((host, int(port)))
        try:
            assert await raw.command("AT+CEREG=1") == ["OK"]
            assert await raw.read_until(b"\r\n+CEREG: 2\r\n")
            assert await raw.read_until(b"\r\n+CEREG: 1\r\n")
        finally:
            await raw.close()
    finally:
        assert await stop(proc) == 0


@pytest.mark.asyncio
async def test_the_plugins_handle_sets_the_radio(nm28_sim: Nm28Sim) -> None:
    reader, writer = await serial_asyncio.open_serial_connection(url=nm28_sim.port)
    host = RawHost(reader, writer)
    try:
        assert (await host.command("ATE0"))[-1] == "OK"
        assert await host.command("AT+CREG=1") == ["OK"]
        nm28_sim.set_signal(rssi_dbm=-101)
        assert await host.command("AT+CSQ") == ["+CSQ: 6,99", "OK"]
        nm28_sim.set_coverage(False)
        assert await host.read_until(b"\r\n+CREG: 2\r\n")
        nm28_sim.set_coverage(True)
        assert await host.read_until(b"\r\n+CREG: 1\r\n")
        nm28_sim.set_registration(RegistrationStat.DENIED, reject_cause=7)
        assert await host.read_until(b"\r\n+CREG: 3\r\n")
        nm28_sim.set_registration(RegistrationStat.HOME)
        assert await host.read_until(b"\r\n+CREG: 1\r\n")
        nm28_sim.drop_pdp()
        assert await host.command("AT+CGACT?") == ["+CGACT: 1,0", "OK"]
        nm28_sim.wedge()
        assert await host.command("AT+MQTTOPEN?") == ["ERROR"]
    finally:
        await host.close()
