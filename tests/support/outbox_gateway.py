"""A gateway process on a session's durable outbox, for the kill -9 e2e tests.

`python outbox_gateway.py PORT HOST BROKER_PORT OUTBOX CLIENT_ID MODE [FIRST LIMIT]`:
opens PORT (a pyserial URL, the virtual NM28's `socket://host:port`), runs a session of
client 0 towards HOST:BROKER_PORT on OUTBOX with CLIENT_ID, and prints one line per event,
flushed at once:

* `state connected` (`state <value>` for every other state change);
* `id N` once `enqueue` of the message whose payload is `mN` returned (committed);
* `stats DELIVERED DEPTH` every few tens of milliseconds while the outbox is not empty.

MODE `storm` enqueues messages FIRST, FIRST+1, ... as fast as it can, one after another,
from the first line of the session's body (up to LIMIT of them, a safety bound), and runs
until it is killed. MODE `drain` enqueues nothing: it waits for the link, flushes, prints
`flushed DELIVERED DEPTH DROPPED DEAD` and leaves the session (freeing the client index).
"""

from __future__ import annotations

import sys

import anyio

import nm28_async as nm
from nm28_async.session import Backoff, LinkState, Session

TOPIC = "gw/kill"
BACKOFF = Backoff(initial=0.05, maximum=0.5, factor=2.0, jitter=0.2)
"""As the tests' FAST_BACKOFF (this file runs as a program, outside the tests' path)."""
FLUSH_CEILING = 60.0
STATS_EVERY = 0.05


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def report_states(session: Session) -> None:
    async for change in session.states():
        say(f"state {change.state.value}")


async def report_stats(session: Session) -> None:
    while True:
        stats = session.outbox_stats
        if stats.depth:
            say(f"stats {stats.delivered} {stats.depth}")
        await anyio.sleep(STATS_EVERY)


async def storm(session: Session, first: int, limit: int) -> None:
    for n in range(first, first + limit):
        await session.enqueue(TOPIC, f"m{n}".encode(), qos=1)
        say(f"id {n}")
    await anyio.sleep_forever()


async def drain(session: Session) -> None:
    await session.wait_connected(FLUSH_CEILING)
    await session.flush(timeout=FLUSH_CEILING)
    stats = session.outbox_stats
    say(f"flushed {stats.delivered} {stats.depth} {stats.dropped} {stats.dead}")


async def main(argv: list[str]) -> None:
    port, host, broker_port, outbox, client_id, mode = argv[:6]
    first, limit = (int(argv[6]), int(argv[7])) if mode == "storm" else (0, 0)
    async with (
        nm.Modem.open(port) as modem,
        modem.session(
            0, host, int(broker_port), client_id=client_id, backoff=BACKOFF,
            poll_interval=1.0, outbox=outbox, outbox_size=1_000_000,
        ) as session,
        anyio.create_task_group() as tasks,
    ):  # fmt: skip
        tasks.start_soon(report_states, session)
        tasks.start_soon(report_stats, session)
        if mode == "storm":
            await storm(session, first, limit)
        else:
            await drain(session)
        tasks.cancel_scope.cancel()
    if session.state is not LinkState.CLOSED:
        say(f"state {session.state.value}")


if __name__ == "__main__":
    anyio.run(main, sys.argv[1:])
