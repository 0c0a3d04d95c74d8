"""`nm28 sim` and `nm28 demo` without the `[sim]` extra (paho-mqtt, amqtt): one line naming
`pip install 'nm28-async[sim]'`, exit 2; the rest of `nm28` works without it. And `nm28 sim`
ends as the exit-code table says: 130 on Ctrl-C (SIGINT), 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest
from support.cli import CEILING, CLI, one_line, read_until

from nm28_async.tools.shell.common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

BLOCKED = """
import sys
class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, NotInstalled())
from nm28_async.tools.cli import main
sys.exit(main())
"""
"""`nm28` in a Python where the blocked packages are not importable, as if not installed."""


async def without(blocked: tuple[str, ...], *args: str) -> tuple[int, str, str]:
    """Run `nm28 ARGS...` with `blocked` packages missing: exit code, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", BLOCKED.format(blocked=blocked), *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.asyncio
@pytest.mark.parametrize("blocked", [("paho",), ("amqtt",), ("paho", "amqtt")], ids=str)
@pytest.mark.parametrize(
    "argv", [("sim", "--pty"), ("sim", "--tcp", "127.0.0.1:0", "--replay", "x.jsonl"),
             ("demo", "--duration", "1")],
    ids=" ".join,
)  # fmt: skip
async def test_without_the_sim_extra_one_line_names_it(
    blocked: tuple[str, ...], argv: tuple[str, ...]
) -> None:
    code, out, err = await without(blocked, *argv)
    assert code == EXIT_USAGE
    line = one_line(err)
    assert line.startswith(f"nm28 {argv[0]}: ")
    assert "pip install 'nm28-async[sim]'" in line
    assert "No module named" in line
    assert out == ""


@pytest.mark.asyncio
async def test_the_rest_of_nm28_needs_no_sim_extra() -> None:
    blocked = ("paho", "amqtt")
    code, out, _ = await without(blocked, "sim", "--help")
    assert (code, out.startswith("usage: nm28 sim")) == (0, True)
    code, _, err = await without(blocked, "at", "socket://127.0.0.1:1", "AT")
    assert code == 1
    assert "cannot open socket://127.0.0.1:1" in one_line(err)
    code, _, err = await without(blocked, "pub", "socket://127.0.0.1:1", "-h", "b", "-t", "a",
                                 "-m", "x")  # fmt: skip
    assert code == 1
    assert "cannot open socket://127.0.0.1:1" in one_line(err)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("sig", "expected"), [(signal.SIGINT, EXIT_INTERRUPTED), (signal.SIGTERM, EXIT_OK)],
    ids=["SIGINT", "SIGTERM"],
)  # fmt: skip
async def test_sim_exits_130_on_ctrl_c_and_0_on_sigterm(sig: signal.Signals, expected: int) -> None:
    proc = await asyncio.create_subprocess_exec(
        *CLI, "sim", "--tcp", "127.0.0.1:0", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await read_until(proc.stdout, "listening on ")
        proc.send_signal(sig)
        assert await asyncio.wait_for(proc.wait(), CEILING) == expected
        assert proc.stderr is not None
        assert await proc.stderr.read() == b""  # no traceback
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
