"""A session's outbox end to end: entries stored while the broker is away all reach a real
subscriber once it is back, counted by message id; a bad file is refused naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.brokers import MosquittoFactory
from support.listen import Listener
from support.rig import FAST_BACKOFF

import nm28_async as nm
from nm28_async.sim import VirtualModem

pytestmark = pytest.mark.e2e

CEILING = 30.0
COUNT = 20


@pytest.mark.asyncio
async def test_entries_enqueued_while_the_broker_is_down_all_arrive(
    mosquitto: MosquittoFactory, tmp_path: Path
) -> None:
    info = mosquitto.start(persistence=True)
    async with Listener(info, "gw/#", "gw/probe", client_id="ob-sub"):
        pass  # its session, kept by the broker across the restart, queues what comes meanwhile
    store = tmp_path / "outbox.sqlite"
    async with VirtualModem(info.url) as sim:
        path = await sim.serve_pty()
        async with (
            nm.Modem.open(path) as modem,
            modem.session(
                0, info.host, info.port, client_id="gw-ob", backoff=FAST_BACKOFF,
                poll_interval=1.0, outbox=store, outbox_size=1000,
            ) as session,
        ):  # fmt: skip
            await session.wait_connected(CEILING)
            mosquitto.stop(info)
            ids = [await session.enqueue("gw/up", f"m{n}".encode(), qos=1) for n in range(COUNT)]
            assert ids == sorted(ids)
            assert len(set(ids)) == COUNT
            assert session.outbox_stats.depth >= 1
            info = mosquitto.start(persistence=True, port=info.port)
            expected = {f"m{n}" for n in range(COUNT)}
            async with Listener(info, "gw/#", "gw/probe", client_id="ob-sub") as listener:
                await session.flush(timeout=CEILING * 2)
                heard = await listener.until_payloads(expected)
            assert {topic for topic, _ in heard} == {"gw/up"}
            assert {payload for _, payload in heard} == expected
            stats = session.outbox_stats
            assert stats.depth == 0
            assert stats.delivered == COUNT
            assert stats.dead == 0


@pytest.mark.asyncio
async def test_a_file_that_is_not_an_outbox_is_refused_naming_it(
    sim: VirtualModem, tmp_path: Path
) -> None:
    bad = tmp_path / "notes.sqlite"
    bad.write_bytes(b"these are not the bytes of an sqlite file" * 100)
    before = bad.read_bytes()
    path = await sim.serve_pty()
    async with nm.Modem.open(path) as modem:
        with pytest.raises(nm.OutboxError, match=r"notes\.sqlite"):
            async with modem.session(0, "127.0.0.1", 1883, client_id="gw", outbox=bad):
                pass
    assert bad.read_bytes() == before


@pytest.mark.asyncio
async def test_bad_outbox_arguments_are_value_errors_at_the_call(sim: VirtualModem) -> None:
    path = await sim.serve_pty()
    async with nm.Modem.open(path) as modem:
        for bad, match in (
            ({"outbox_size": 0}, "outbox_size"),
            ({"max_age": -1}, "max_age"),
            ({"outbox_overflow": nm.Overflow.DROP_NEWEST}, "DROP_NEWEST"),
            ({"outbox": 5}, "outbox"),
        ):
            with pytest.raises(ValueError, match=match):
                modem.session(0, "127.0.0.1", 1883, client_id="gw", **bad)
