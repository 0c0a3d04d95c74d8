"""The `nm28` command as a user runs it, in its own process: run it, start `nm28 sim`, read
what it prints line by line."""

from __future__ import annotations

import asyncio
import signal
import sys

CLI = (sys.executable, "-m", "nm28_async.tools.cli")
CEILING = 30.0
"""Seconds any single step may take on a slow, busy machine: a ceiling, never a pace."""


async def run_cli(
    *args: str, timeout: float = 60.0, env: dict[str, str] | None = None, stdin: bytes = b""
) -> tuple[int, str, str]:
    """Run `nm28 ARGS...` to completion; its exit code, stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def start_cli(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """Start `nm28 ARGS...` with stdin, stdout and stderr as pipes."""
    return await asyncio.create_subprocess_exec(
        *CLI, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip


async def start_sim(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    """Start `nm28 sim ARGS...`; return it once it printed `listening on <where>`."""
    proc = await asyncio.create_subprocess_exec(
        *CLI, "sim", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    assert proc.stdout is not None
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), CEILING)).decode()
        assert line, "nm28 sim exited before it was listening"
        if line.startswith("listening on "):
            return proc, line.removeprefix("listening on ").strip()


async def stop(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), CEILING)


async def read_line(stream: asyncio.StreamReader | None, timeout: float = CEILING) -> str:
    """The next line a process printed (without its line end); fails at end of output."""
    assert stream is not None
    line = await asyncio.wait_for(stream.readline(), timeout)
    assert line, "the process ended its output"
    return line.decode().rstrip("\r\n")


async def read_until(
    stream: asyncio.StreamReader | None, wanted: str, timeout: float = CEILING
) -> list[str]:
    """Lines a process printed, up to and including the first that starts with `wanted`."""
    lines: list[str] = []
    async with asyncio.timeout(timeout):
        while not lines or not lines[-1].startswith(wanted):
            lines.append(await read_line(stream))
    return lines


def one_line(err: str) -> str:
    """The single line a failing `nm28` writes to stderr (no traceback)."""
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


async def ended(proc: asyncio.subprocess.Process) -> None:
    """Make sure `proc` is gone (a test that failed half way leaves it running)."""
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
