"""kill -9 in the middle of an enqueue storm: every id `enqueue` returned is in the file
when it is reopened, in order (what gateway.md promises for a crash)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import anyio
import pytest
from outbox_fixtures import drain

from nm28_async.outbox import SqliteStore

WRITER = Path(__file__).with_name("outbox_writer.py")


async def _ids_printed_until_killed(path: Path, tasks: int, count: int) -> list[int]:
    """Run the writer until it printed `count` ids, SIGKILL it, and return what it printed
    (all of it: lines written before the kill are still in the pipe)."""
    printed: list[int] = []
    buffer = b""
    process = await anyio.open_process([sys.executable, str(WRITER), str(path), "kill", str(tasks)])
    async with process:
        assert process.stdout is not None
        with anyio.fail_after(60):
            while len(printed) < count:
                chunk = await process.stdout.receive()
                *lines, buffer = (buffer + chunk).split(b"\n")
                printed += [int(line) for line in lines]
        process.send_signal(signal.SIGKILL)
        with anyio.fail_after(60):
            assert await process.wait() == -signal.SIGKILL
            async for chunk in process.stdout:  # what it printed just before dying
                *lines, buffer = (buffer + chunk).split(b"\n")
                printed += [int(line) for line in lines]
    return printed


@pytest.mark.asyncio
@pytest.mark.parametrize("tasks", [1, 8])
async def test_every_returned_id_survives_kill_9(tmp_path: Path, tasks: int) -> None:
    path = tmp_path / "outbox.sqlite"
    printed = await _ids_printed_until_killed(path, tasks, 300)
    assert len(printed) >= 300
    assert len(set(printed)) == len(printed)
    async with await SqliteStore.open(path, "kill") as store:
        stored = [entry.id for entry in await drain(store)]
    assert stored == sorted(stored)
    missing = set(printed) - set(stored)
    assert not missing, f"{len(missing)} ids enqueue returned were lost: {sorted(missing)[:10]}"
    if tasks == 1:  # one writer: its ids come back exactly in the order it got them
        assert stored[: len(printed)] == printed
