"""Small helpers shared by the supervision and fault-injection tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from nm28_async.protocol.events import Message
from nm28_async.session import Backoff, LinkState, Session

FAST_BACKOFF = Backoff(initial=0.05, maximum=0.5, factor=2.0, jitter=0.2)


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``predicate`` until it holds; return the seconds it took (fails after ``timeout``)."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def wait_reconnected(session: Session, reconnects: int, timeout: float = 30.0) -> float:
    """Wait until ``session`` has reconnected ``reconnects`` times and is connected again."""
    return await wait_until(
        lambda: session.reconnects >= reconnects and session.state is LinkState.CONNECTED,
        timeout,
        f"client {session.client.index} reconnected {reconnects} time(s)",
    )


async def collect(session: Session, count: int, timeout: float) -> list[Message]:
    """The next ``count`` messages of ``session`` (fails after ``timeout``)."""
    got: list[Message] = []
    async with asyncio.timeout(timeout):
        async for message in session.messages():
            got.append(message)
            if len(got) == count:
                break
    return got
