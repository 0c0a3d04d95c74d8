"""`session.last_error`: why the last connection attempt failed, for a program that must
connect once before it runs (the CLI reports it as one line)."""

from __future__ import annotations

import asyncio

import pytest
from support.rig import FAST_BACKOFF

import nm28_async as nm
from nm28_async.sim import VirtualModem
from nm28_async.tools.mosquitto import free_port

pytestmark = pytest.mark.e2e


@pytest.mark.asyncio
async def test_last_error_says_why_the_attempt_failed(sim: VirtualModem) -> None:
    nobody = free_port()  # nothing listens there
    async with (
        nm.Modem.open(await sim.serve_pty()) as modem,
        modem.session(0, "127.0.0.1", nobody, client_id="x", backoff=FAST_BACKOFF) as session,
    ):
        assert session.last_error is None
        async with asyncio.timeout(30):
            async for change in session.states():
                if change.state is nm.LinkState.BACKING_OFF:
                    break
        assert isinstance(session.last_error, nm.OpenError)
        assert str(session.last_error) in change.reason
