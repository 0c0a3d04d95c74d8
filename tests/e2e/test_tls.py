"""TLS end to end: driver → virtual NM28 (ssl context 0) → mosquitto with a test CA."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from support.brokers import MosquittoFactory, require_tool
from support.rig import FAST_BACKOFF, collect
from support.tls_ca import CertAuthority, make_ca, make_cert_authority

import nm28_async as nm
from nm28_async.session import LinkState
from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e

CEILING = 20.0
"""Seconds a wait may take: generous, so a busy machine passes."""


@pytest.fixture
def test_ca(tmp_path: Path) -> CertAuthority:
    require_tool("openssl")
    return make_cert_authority(tmp_path / "pki")


@pytest.mark.asyncio
async def test_tls_both_directions(mosquitto: MosquittoFactory, test_ca: CertAuthority) -> None:
    info = mosquitto.start(extra=test_ca.mosquitto_lines())  # the only listener speaks TLS
    async with VirtualModem(info.url, tls_contexts={0: test_ca.client_context()}) as sim:
        path = await sim.serve_pty()
        async with nm.Modem.open(path) as modem:
            uplink, downlink = modem.client(0), modem.client(1)
            for client in (uplink, downlink):
                await client.configure(ssl=True, ssl_ctx=0)
                await client.open(info.host, info.port)
                await client.connect(f"tls-{client.index}")
            assert await downlink.subscribe("tls/t", qos=1) == 1
            payloads = [b"secret-%d" % i for i in range(5)] + [bytes(range(256)) * 8]
            for payload in payloads:
                await uplink.publish("tls/t", payload, qos=1)
            got = []
            async for message in downlink.messages():
                got.append(message.payload)
                if len(got) == len(payloads):
                    break
            assert got == payloads
            config = await modem.query_config()
            assert (config[0].ssl_enabled, config[0].ssl_ctx) == (True, 0)
            for client in (uplink, downlink):
                await client.disconnect()
                await client.close()


@pytest.mark.asyncio
async def test_supervised_session_over_tls(
    mosquitto: MosquittoFactory, test_ca: CertAuthority
) -> None:
    info = mosquitto.start(extra=test_ca.mosquitto_lines())
    async with VirtualModem(info.url, tls_contexts={0: test_ca.client_context()}) as sim:
        path = await sim.serve_pty()
        async with nm.Modem.open(path) as modem, modem.session(
            2, info.host, info.port, client_id="tls-session", backoff=FAST_BACKOFF,
            poll_interval=0.3, ssl=True, ssl_ctx=0,
        ) as session:  # fmt: skip
            await session.wait_connected(CEILING)
            await session.subscribe("tls/s", qos=1)
            assert sim.drop_link(2)
            # the supervisor re-applies ssl and reconnects through TLS again
            await session.publish("tls/s", b"over-tls", qos=1, timeout=CEILING)
            (message,) = await collect(session, 1, timeout=CEILING)
            assert message.payload == b"over-tls"
            assert session.reconnects == 1
            assert session.state is LinkState.CONNECTED


@pytest.mark.asyncio
async def test_wrong_ca_fails_to_open(
    mosquitto: MosquittoFactory, test_ca: CertAuthority, tmp_path: Path
) -> None:
    info = mosquitto.start(extra=test_ca.mosquitto_lines())
    other_ca = make_ca(tmp_path / "other", "other")
    untrusting = ssl.create_default_context(cafile=str(other_ca))
    async with VirtualModem(info.url, tls_contexts={0: untrusting}) as sim:
        path = await sim.serve_pty()
        async with nm.Modem.open(path) as modem:
            client = modem.client(0)
            await client.configure(ssl=True, ssl_ctx=0)
            with pytest.raises(nm.OpenError) as caught:
                await client.open(info.host, info.port)
            assert caught.value.code == 5  # connect failed: the handshake was refused
            assert client.state is nm.ClientState.CLOSED
            # an ssl context the module does not hold fails too (result -1)
            await client.configure(ssl=True, ssl_ctx=3)
            with pytest.raises(nm.OpenError) as caught:
                await client.open(info.host, info.port)
            assert caught.value.code == -1


@pytest.mark.asyncio
async def test_plain_mqtt_is_refused_by_the_tls_listener(
    mosquitto: MosquittoFactory, test_ca: CertAuthority
) -> None:
    info = mosquitto.start(extra=test_ca.mosquitto_lines())
    async with VirtualModem(info.url) as sim:
        path = await sim.serve_pty()
        async with nm.Modem.open(path) as modem:
            client = modem.client(0)
            await client.configure(pkt_timeout=2, retries=0)
            await client.open(info.host, info.port)  # TCP alone succeeds
            with pytest.raises(nm.ConnectError):
                await client.connect("plain-to-tls")
