"""Run by the kill -9 test: `python outbox_writer.py FILE CLIENT_ID TASKS` enqueues for ever
from TASKS concurrent tasks, printing each id `enqueue` returned (flushed at once), until the
test kills it."""

from __future__ import annotations

import sys

import anyio

from nm28_async.outbox import SqliteStore


async def main(path: str, client_id: str, tasks: int) -> None:
    async with await SqliteStore.open(path, client_id) as store:

        async def write(task: int) -> None:
            n = 0
            while True:
                n += 1
                entry_id = await store.enqueue("kill/t", f"{task}:{n}".encode(), qos=1)
                sys.stdout.write(f"{entry_id}\n")
                sys.stdout.flush()

        async with anyio.create_task_group() as tg:
            for task in range(tasks):
                tg.start_soon(write, task)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]))
